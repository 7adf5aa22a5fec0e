from dlnet.run import bridge
from dlnet.run.download_peer import run

bridge(run, snakemake)
