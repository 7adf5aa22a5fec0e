from dlnet.run import bridge
from dlnet.run.score_peer import run

bridge(run, snakemake)
