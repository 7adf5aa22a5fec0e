from dlnet.run import bridge
from dlnet.run.signals_ablation import run

bridge(run, snakemake)
