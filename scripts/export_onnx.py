from dlnet.run.export_onnx import run

run(snakemake.input, snakemake.output, snakemake.params, snakemake.log[0], snakemake.threads)
