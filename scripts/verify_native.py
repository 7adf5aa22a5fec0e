from dlnet.run import bridge
from dlnet.run.quantize import run_verify

bridge(run_verify, snakemake)
