from dlnet.run import bridge
from dlnet.run.download import run

bridge(run, snakemake)
