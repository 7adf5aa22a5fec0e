from dlnet.run.firmware_m4 import run

run(snakemake.input, snakemake.output, snakemake.params, snakemake.log[0], snakemake.threads)
