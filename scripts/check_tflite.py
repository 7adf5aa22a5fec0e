from dlnet.run import bridge
from dlnet.run.check_tflite import run

bridge(run, snakemake)
