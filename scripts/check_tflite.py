from dlnet.run import bridge
from dlnet.run.export_tflite import run_check

bridge(run_check, snakemake)
