from dlnet.run import bridge
from dlnet.run.download_matr import run

bridge(run, snakemake)
