from dlnet.run.report import run_figures

run_figures(snakemake.input, snakemake.output, snakemake.params, snakemake.log[0], snakemake.threads)
