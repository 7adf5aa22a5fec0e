from dlnet.run import bridge
from dlnet.run.prune_recover import run

bridge(run, snakemake)
