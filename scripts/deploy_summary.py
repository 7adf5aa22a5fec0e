from dlnet.run import bridge
from dlnet.run.deploy_summary import run

bridge(run, snakemake)
