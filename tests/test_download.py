"""The matr_raw download, against a real HTTP server on localhost."""

import hashlib
import http.server
import threading
from functools import partial

import pytest

from dlnet.data.download import fetch
from dlnet.errors import InputError


@pytest.fixture()
def server(tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_pinned_hash_is_verified(server, tmp_path):
    root, url = server
    payload = b"batch file bytes" * 1000
    (root / "b1.mat").write_bytes(payload)
    digest = hashlib.sha256(payload).hexdigest()
    dest = tmp_path / "raw/b1.mat"
    assert fetch(f"{url}/b1.mat", dest, digest, len(payload), log=lambda _: None) == digest
    assert dest.read_bytes() == payload
    assert (tmp_path / "raw/b1.mat.sha256").read_text().startswith(digest)


def test_wrong_hash_leaves_nothing(server, tmp_path):
    root, url = server
    (root / "b2.mat").write_bytes(b"tampered")
    dest = tmp_path / "raw/b2.mat"
    with pytest.raises(InputError, match="SHA-256 .* does not match"):
        fetch(f"{url}/b2.mat", dest, "0" * 64, log=lambda _: None)
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []


def test_wrong_size_leaves_nothing(server, tmp_path):
    root, url = server
    (root / "b3.mat").write_bytes(b"short")
    dest = tmp_path / "raw/b3.mat"
    with pytest.raises(InputError, match="downloaded 5 bytes, expected 10"):
        fetch(f"{url}/b3.mat", dest, None, 10, log=lambda _: None)
    assert not dest.exists()


def test_unpinned_hash_is_recorded_and_reported(server, tmp_path):
    root, url = server
    (root / "b4.mat").write_bytes(b"new batch")
    messages = []
    digest = fetch(f"{url}/b4.mat", tmp_path / "b4.mat", None, log=messages.append)
    assert any("no sha256 pinned" in m and digest in m for m in messages)


def test_a_missing_file_or_an_unreachable_server_names_the_url_and_leaves_nothing(server, tmp_path):
    _, url = server
    dest = tmp_path / "raw/b5.mat"
    with pytest.raises(InputError, match=r"could not be downloaded from .*b5\.mat \(HTTP Error 404"):
        fetch(f"{url}/b5.mat", dest, None, log=lambda _: None)
    # a port nothing listens on: the connection is refused at once
    with pytest.raises(InputError, match="check the network connection"):
        fetch("http://127.0.0.1:9/b5.mat", dest, None, log=lambda _: None)
    assert not dest.exists() and list(dest.parent.iterdir()) == []
