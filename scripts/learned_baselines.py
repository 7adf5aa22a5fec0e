from dlnet.run import bridge
from dlnet.run.learned_baselines import run

bridge(run, snakemake)
