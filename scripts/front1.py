from dlnet.run import bridge
from dlnet.run.pareto import run_front1

bridge(run_front1, snakemake)
