from dlnet.run import bridge
from dlnet.run.teacher import run

bridge(run, snakemake)
