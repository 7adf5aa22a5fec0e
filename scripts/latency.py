from dlnet.run import bridge
from dlnet.run.latency import run

bridge(run, snakemake)
