from dlnet.run import bridge
from dlnet.run.data import run

bridge(run, snakemake)
