from dlnet.run import bridge
from dlnet.run.report_figures import run

bridge(run, snakemake)
