from dlnet.run import bridge
from dlnet.run.student import run

bridge(run, snakemake)
