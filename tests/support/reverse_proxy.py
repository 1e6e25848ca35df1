"""HAProxy from Debian in front of several backends, as Cloud Run's front end stands in
front of its instances: WebSocket upgrades pass, `X-Forwarded-For` gets the client's
address appended, and a backend that refuses the connection is retried on another one.

Started on a free 127.0.0.1 port, in the foreground, its log in the test's directory.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench._browser import START_TIMEOUT_S, free_ports, http_ok, log_tail, wait_until

HAPROXY = Path("/usr/sbin/haproxy")

_CONFIG = """\
global
    maxconn 256
    log stdout format raw local0 info

defaults
    mode http
    log global
    option httplog
    # The client's address appended to X-Forwarded-For, as Cloud Run's front end does.
    option forwardfor
    # A backend that refuses (killed) is tried again, on another server from the 2nd try.
    retries 3
    option redispatch 1
    timeout connect 1s
    timeout client 60s
    timeout server 60s
    # An upgraded WebSocket is a tunnel: idle between frames for as long as a conversation.
    timeout tunnel 1h

frontend public
    bind 127.0.0.1:{port}
    default_backend instances

backend instances
    balance roundrobin
    option httpchk GET /healthz
{servers}
"""


@dataclass(frozen=True)
class ReverseProxy:
    port: int
    log: Path

    def ws_url(self, path: str = "/ws") -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def http_url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@contextlib.contextmanager
def haproxy(backend_ports: list[int], workdir: Path) -> Iterator[ReverseProxy]:
    """HAProxy on a free port balancing over the backends on `backend_ports` (each must
    answer /healthz before it gets traffic); stopped at the end."""
    if not HAPROXY.exists():
        raise RuntimeError(f"{HAPROXY} missing: run scripts/install-system-deps.sh")
    (port,) = free_ports(1)
    servers = "\n".join(
        f"    server i{n} 127.0.0.1:{p} check inter 500ms fall 1 rise 1"
        for n, p in enumerate(backend_ports)
    )
    config = workdir / "haproxy.cfg"
    config.write_text(_CONFIG.format(port=port, servers=servers))
    log = workdir / "haproxy.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(HAPROXY), "-db", "-f", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    proxy = ReverseProxy(port, log)
    try:
        try:
            wait_until(
                lambda: http_ok(proxy.http_url("/healthz")),
                timeout_s=START_TIMEOUT_S,
                what="haproxy",
                alive=lambda: proc.poll() is None,
            )
        except (TimeoutError, RuntimeError) as exc:
            raise RuntimeError(f"{exc}\n{log_tail(log)}") from exc
        yield proxy
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
