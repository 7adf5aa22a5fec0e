from dlnet.run import bridge
from dlnet.run.prune import run

bridge(run, snakemake)
