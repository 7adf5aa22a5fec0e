from dlnet.run.export_tflite import run_check

run_check(snakemake.input, snakemake.output, snakemake.params, snakemake.log[0], snakemake.threads)
