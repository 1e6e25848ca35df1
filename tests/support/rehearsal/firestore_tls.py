"""The Firestore emulator behind Google's hostname: TLS on port 443 of a loopback address.

The product's Firestore client dials `firestore.googleapis.com:443` over gRPC and verifies
that name. gRPC resolves names itself (not through Python's `socket`), so the rehearsal's
`sitecustomize` cannot map it; the name is mapped in the hosts file instead (`podman run
--add-host` for a container) to a loopback address of its own, where the emulator serves
TLS with the rehearsal certificate on 443. The address is drawn at random in 127.0.0.0/8
and tried, so runs side by side (and other tests on 443) do not collide. Binding 443 needs
root, as building the images does. A process on the host reaches it through a CONNECT proxy
instead (`connect_proxy.py`), and then any port of 127.0.0.1 will do.
"""

from __future__ import annotations

import contextlib
import json
import random
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.procs import free_port

from .pki import StandInPki

REPO = Path(__file__).resolve().parents[3]
LAUNCHER = REPO / "tests" / "support" / "firestore_emulator.js"
HTTPS_PORT = 443
_READY_TIMEOUT_S = 30.0
_ATTEMPTS = 20


class CannotServe(Exception):
    """Port 443 cannot be bound here (not root), or Node and the npm packages are missing."""


@dataclass(frozen=True)
class TlsFirestore:
    address: str  # the loopback address firestore.googleapis.com resolves to
    port: int  # where TLS is served there: 443, or any port behind a CONNECT proxy
    http: str  # the launcher's side port (readiness, reset, dump)
    plain: str  # plain gRPC on 127.0.0.1, for the test's own client (FIRESTORE_EMULATOR_HOST)

    def dump(self) -> dict[str, Any]:
        """Every document the emulator holds (its own JSON export)."""
        with urllib.request.urlopen(f"{self.http}/dump", timeout=30) as response:
            data: dict[str, Any] = json.load(response)
        return data


def free_loopback_443() -> str:
    """A loopback address whose port 443 is free now (127.0.0.1 is left to everyone else)."""
    rng = random.SystemRandom()
    for _ in range(_ATTEMPTS):
        address = f"127.{rng.randint(64, 254)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((address, HTTPS_PORT))
            except PermissionError as exc:
                raise CannotServe(f"binding port {HTTPS_PORT} needs root: {exc}") from exc
            except OSError:
                continue
            return address
    raise CannotServe(f"no free loopback address for port {HTTPS_PORT} in {_ATTEMPTS} tries")


@contextlib.contextmanager
def tls_firestore(pki: StandInPki, log: Path, *, on_443: bool = True) -> Iterator[TlsFirestore]:
    """The emulator serving TLS on a free loopback address's port 443 (for a hosts file
    entry), or else on a free port of 127.0.0.1 (behind a CONNECT proxy: no root needed);
    stopped after."""
    node = shutil.which("node")
    if node is None or not (REPO / "node_modules" / "@firestore-emulator" / "server").is_dir():
        raise CannotServe("node and the npm packages are needed (`npm ci` at the root)")
    if on_443:
        address, port = free_loopback_443(), HTTPS_PORT
    else:
        address, port = "127.0.0.1", free_port()
    http_port, plain_port = free_port(), free_port()
    tls = f"{address}:{port}"
    args = [str(plain_port), str(http_port), tls, str(pki.cert), str(pki.key)]
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - node with the test's own arguments
            [node, str(LAUNCHER), *args], stdout=out, stderr=subprocess.STDOUT, cwd=REPO
        )
    try:
        _wait_ready(f"http://127.0.0.1:{http_port}/healthz", proc, log)
        yield TlsFirestore(
            address, port, f"http://127.0.0.1:{http_port}", f"127.0.0.1:{plain_port}"
        )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"firestore emulator exited {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                response.read()
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.05)  # polling interval; the deadline bounds the wait
    raise RuntimeError(f"firestore emulator not ready after {_READY_TIMEOUT_S:g} s")
