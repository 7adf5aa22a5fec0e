from dlnet.run import bridge
from dlnet.run.verify_native import run

bridge(run, snakemake)
