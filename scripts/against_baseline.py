from dlnet.run import bridge
from dlnet.run.against_baseline import run

bridge(run, snakemake)
