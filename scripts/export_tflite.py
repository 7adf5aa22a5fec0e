from dlnet.run import bridge
from dlnet.run.export_tflite import run

bridge(run, snakemake)
