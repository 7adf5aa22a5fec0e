from dlnet.run import bridge
from dlnet.run.prepare_data import run

bridge(run, snakemake)
