"""Fetch a large public file once, verify it, and only then put it in place."""

import hashlib
import http.client
import shutil
import urllib.error
import urllib.request
from pathlib import Path

from dlnet.errors import InputError
from dlnet.io import atomic_path


def sha256_of(path, chunk=1 << 20):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def fetch(url, dest, sha256=None, size=None, log=print):
    """Download `url` to `dest`; a wrong size or SHA-256 leaves nothing behind.

    Without a pinned `sha256` the computed hash is written beside the file and logged, so that the
    user can pin it in config.yaml.
    """
    dest = Path(dest)
    with atomic_path(dest) as tmp:
        log(f"downloading {url} -> {dest}")
        try:
            with urllib.request.urlopen(url, timeout=60) as response, open(tmp, "wb") as out:
                shutil.copyfileobj(response, out, length=1 << 20)
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError,
                TimeoutError, ValueError) as e:     # ValueError: a malformed url
            raise InputError(dest, f"could not be downloaded from {url} ({e})",
                             "check the network connection and the url in config.yaml, or "
                             "put the file at this path by hand (its sha256 and size are "
                             "checked the same way)") from None
        got_size = tmp.stat().st_size
        if size is not None and got_size != int(size):
            raise InputError(dest, f"downloaded {got_size} bytes, expected {size}",
                             "retry the download; if it persists, the server's file changed")
        digest = sha256_of(tmp)
        if sha256 and digest != sha256.lower():
            raise InputError(dest, f"SHA-256 {digest} does not match the pinned {sha256}",
                             "retry the download; if the source changed on purpose, update "
                             "the sha256 in config.yaml after checking the new file")
        if not sha256:
            log(f"WARNING: no sha256 pinned for {dest.name}; computed {digest}. "
                "Pin it under datasets.matr_raw.batches in config.yaml.")
    Path(str(dest) + ".sha256").write_text(f"{digest}  {dest.name}\n")
    return digest
