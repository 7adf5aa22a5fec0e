"""Rule download_peer: a peer's published model, checked against its pinned size and SHA-256."""

from dlnet.data.download import fetch
from dlnet.logs import Log


def run(input, output, params, log, threads=1):
    peer = params.peer
    fetch(peer["url"], output[0], peer.get("sha256"), peer.get("size"), Log(log))
