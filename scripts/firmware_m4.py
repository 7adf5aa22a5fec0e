from dlnet.run import bridge
from dlnet.run.firmware_m4 import run

bridge(run, snakemake)
