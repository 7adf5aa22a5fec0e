from dlnet.run import bridge
from dlnet.run.quantize import run

bridge(run, snakemake)
