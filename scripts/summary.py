from dlnet.run.report import run_summary

run_summary(snakemake.input, snakemake.output, snakemake.params, snakemake.log[0], snakemake.threads)
