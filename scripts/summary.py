from dlnet.run import bridge
from dlnet.run.report import run_summary

bridge(run_summary, snakemake)
