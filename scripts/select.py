from dlnet.run import bridge
from dlnet.run.select import run

bridge(run, snakemake)
