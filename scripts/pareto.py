from dlnet.run import bridge
from dlnet.run.pareto import run

bridge(run, snakemake)
