from dlnet.run.deploy_summary import run

run(snakemake.input, snakemake.output, None, snakemake.log[0], snakemake.threads)
