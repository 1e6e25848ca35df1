"""The stand-ins behind Google's names keep to what the production checks rely on: the
CONNECT proxy opens tunnels only to the names it maps, the metadata server answers only
requests that say `Metadata-Flavor: Google`, the TLS front presents Google's name from the
test CA and forwards bytes unchanged."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from tests.support.rehearsal.connect_proxy import ConnectProxy
from tests.support.rehearsal.metadata_server import MetadataServer
from tests.support.rehearsal.pki import STORAGE_HOST, StandInPki
from tests.support.rehearsal.tls_front import TlsFront

TOKEN_PATH = "/computeMetadata/v1/instance/service-accounts/default/token"  # noqa: S105


@pytest.fixture
def echo() -> Iterator[tuple[str, int]]:
    """A TCP server on 127.0.0.1 that sends back the first bytes it reads."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(10)

    def serve_one() -> None:
        conn, _ = server.accept()
        with conn:
            conn.sendall(conn.recv(1024))

    thread = threading.Thread(target=serve_one, daemon=True)
    thread.start()
    yield "127.0.0.1", int(server.getsockname()[1])
    server.close()
    thread.join(timeout=5)


def _connect(proxy: ConnectProxy, authority: str) -> tuple[socket.socket, bytes]:
    sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
    sock.sendall(f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1024)
        if not chunk:
            break
        head += chunk
    return sock, head


def test_the_proxy_tunnels_a_mapped_name_and_refuses_any_other(echo: tuple[str, int]) -> None:
    with ConnectProxy({"firestore.googleapis.com:443": echo}) as proxy:
        sock, head = _connect(proxy, "example.com:443")
        sock.close()
        assert head.startswith(b"HTTP/1.1 403")
        assert proxy.refused == ["example.com:443"]
        sock, head = _connect(proxy, "firestore.googleapis.com:443")
        with sock:
            assert head.startswith(b"HTTP/1.1 200")
            sock.sendall(b"through the tunnel")
            assert sock.recv(1024) == b"through the tunnel"


def test_the_metadata_server_answers_only_with_the_flavor_header() -> None:
    with MetadataServer(project="p", email="sa@p.iam.gserviceaccount.com", access_token="t") as md:
        url = f"http://{md.host}{TOKEN_PATH}?scopes=x"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=10)  # noqa: S310 - a local stand-in
        assert refused.value.code == 403
        refused.value.close()
        request = urllib.request.Request(url, headers={"Metadata-Flavor": "Google"})
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            assert answer.headers["Metadata-Flavor"] == "Google"
            assert json.load(answer)["access_token"] == "t"
        assert md.hits[TOKEN_PATH] == 2


def test_the_tls_front_presents_googles_name_and_forwards(
    pki: StandInPki, echo: tuple[str, int]
) -> None:
    trust = ssl.create_default_context(cafile=str(pki.bundle))
    with (
        TlsFront(pki, echo) as front,
        socket.create_connection(("127.0.0.1", front.port), timeout=10) as raw,
        trust.wrap_socket(raw, server_hostname=STORAGE_HOST) as tls,
    ):
        tls.sendall(b"GET / HTTP/1.1\r\n\r\n")
        assert tls.recv(1024) == b"GET / HTTP/1.1\r\n\r\n"
