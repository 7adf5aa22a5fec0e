from dlnet.run import bridge
from dlnet.run.latency_seeds import run

bridge(run, snakemake)
