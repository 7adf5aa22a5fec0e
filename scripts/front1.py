from dlnet.run.pareto import run_front1

run_front1(snakemake.input, snakemake.output, snakemake.params, snakemake.log[0], snakemake.threads)
