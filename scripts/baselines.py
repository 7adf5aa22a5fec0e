from dlnet.run import bridge
from dlnet.run.baselines import run

bridge(run, snakemake)
