from dlnet.run import bridge
from dlnet.run.report import run_figures

bridge(run_figures, snakemake)
