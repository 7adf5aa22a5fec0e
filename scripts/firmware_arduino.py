from dlnet.run import bridge
from dlnet.run.firmware_arduino import run

bridge(run, snakemake)
