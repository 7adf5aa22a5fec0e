from dlnet.run import bridge
from dlnet.run.export_onnx import run

bridge(run, snakemake)
