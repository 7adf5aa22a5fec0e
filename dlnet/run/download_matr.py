"""Rule download_matr: one of the study's original batch files, checked before it is kept."""

from dlnet.data.download import fetch
from dlnet.logs import Log


def run(input, output, params, log, threads=1):
    batch = params.batch
    fetch(batch["url"], output[0], batch.get("sha256"), batch.get("size"), Log(log))
