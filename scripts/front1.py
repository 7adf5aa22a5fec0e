from dlnet.run import bridge
from dlnet.run.front1 import run

bridge(run, snakemake)
