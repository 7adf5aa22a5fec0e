from dlnet.run.quantize import run_verify

run_verify(snakemake.input, snakemake.output, snakemake.params, snakemake.log[0], snakemake.threads)
