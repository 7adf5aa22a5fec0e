from dlnet.run import bridge
from dlnet.run.summary import run

bridge(run, snakemake)
