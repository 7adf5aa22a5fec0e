from dlnet.run import bridge
from dlnet.run.recover import run

bridge(run, snakemake)
