"""The HTTP edge of the real servers: forwarded headers (trusted peers, hop counts), slow
and idle sockets, the connection cap, the open-files limit.

The backend and the static frontend server run in-process on free ports with the
product's own uvicorn configurations (`uvicorn_config`, `static_config`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from liveavatar.emulator.server import EmulatorServer
from liveavatar.server.limits import RETRY_AFTER_S
from tests.integration.server.conftest import StartBackend, backend_settings
from tests.support.procs import free_port, serve_env, wait_http
from tests.support.static_server import static_server

#: Bounds for waits on the server; a hang fails the test instead of blocking the run.
LIMIT_S = 30.0
#: Short deadlines so the tests wait little; the product's defaults are in settings.py.
HEADER_TIMEOUT_S = 0.5


@dataclass(frozen=True)
class Edge:
    """A running server under test: its port and a URL that answers 200 when it serves."""

    port: int
    ok_url: str


StartServer = Callable[..., Awaitable[Edge]]


# ---- servers --------------------------------------------------------------------------


@pytest.fixture(params=["backend", "static"])
async def start_server(
    request: pytest.FixtureRequest, emulator: EmulatorServer, start_backend: StartBackend
) -> AsyncIterator[StartServer]:
    """Start the backend or the static server with setting overrides."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(**overrides: Any) -> Edge:
            settings = backend_settings(emulator, **overrides)
            if request.param == "backend":
                backend = await start_backend(settings)
                return Edge(backend.port, f"{backend.http_url}/healthz")
            port = await stack.enter_async_context(static_server(settings))
            return Edge(port, f"http://127.0.0.1:{port}/")

        yield start


async def read_until_closed(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection."""
    try:
        return await reader.read()
    except ConnectionResetError:
        return b""


# ---- trusted proxies ------------------------------------------------------------------


async def hello_as(url: str, forwarded_for: str) -> dict[str, Any]:
    """Connect with an X-Forwarded-For header, say hello, return the first answer frame
    and the close code (under "close"; None when the session was ready and said bye)."""
    headers = {"Origin": "http://localhost:8000", "X-Forwarded-For": forwarded_for}
    frames: list[dict[str, Any]] = []
    async with connect(url, additional_headers=headers) as ws:
        # A refused connection may be closed before hello is even read; what it was told
        # is still read below.
        with contextlib.suppress(ConnectionClosed):
            await ws.send(json.dumps({"type": "hello", "version": 1}))
        try:
            async with asyncio.timeout(LIMIT_S):
                async for frame in ws:
                    frames.append(json.loads(frame))
                    if frames[-1]["type"] == "ready":
                        await ws.send(json.dumps({"type": "bye"}))
                        return {**frames[0], "close": None}
        except ConnectionClosed:
            pass
    assert frames, f"closed with {ws.close_code} before any frame"
    return {**frames[0], "close": ws.close_code}


async def test_forged_forwarded_for_does_not_dodge_the_rate_limit(
    emulator: EmulatorServer, start_backend: StartBackend
) -> None:
    backend = await start_backend(backend_settings(emulator, rate_limit_connections=2))
    answers = [
        await hello_as(backend.ws_url, f"203.0.113.{n}") for n in range(1, 4)
    ]  # three "different" clients, all really 127.0.0.1
    assert [a["type"] for a in answers] == ["ready", "ready", "error"]
    assert answers[2]["code"] == "rate_limited"
    assert answers[2]["close"] == 4429


async def test_a_trusted_proxy_names_the_client(
    emulator: EmulatorServer, start_backend: StartBackend
) -> None:
    settings = backend_settings(emulator, rate_limit_connections=2, trusted_proxies=["127.0.0.1"])
    backend = await start_backend(settings)
    answers = [await hello_as(backend.ws_url, f"203.0.113.{n}") for n in range(1, 4)]
    assert [a["type"] for a in answers] == ["ready", "ready", "ready"]
    # The named clients are limited in their own right.
    again = [await hello_as(backend.ws_url, "203.0.113.1") for _ in range(2)]
    assert [a["type"] for a in again] == ["ready", "error"]
    assert again[1]["close"] == 4429


async def test_behind_cloud_run_each_client_has_its_own_bucket(
    emulator: EmulatorServer, start_backend: StartBackend
) -> None:
    # Cloud Run's front end appends the address it saw: the last entry. Whatever a client
    # wrote before it is carried along and never counts.
    settings = backend_settings(emulator, rate_limit_connections=2, trusted_proxy_hops=1)
    backend = await start_backend(settings)
    clients = [await hello_as(backend.ws_url, f"6.6.6.6, 198.51.100.{n}") for n in (1, 2, 3)]
    assert [a["type"] for a in clients] == ["ready", "ready", "ready"]  # not one front end
    forged = [await hello_as(backend.ws_url, f"203.0.113.{n}, 198.51.100.1") for n in (1, 2)]
    assert [a["type"] for a in forged] == ["ready", "error"]
    assert forged[1]["code"] == "rate_limited" and forged[1]["close"] == 4429


async def test_behind_a_load_balancer_the_client_is_two_hops_from_the_right(
    emulator: EmulatorServer, start_backend: StartBackend
) -> None:
    settings = backend_settings(emulator, rate_limit_connections=2, trusted_proxy_hops=2)
    backend = await start_backend(settings)
    lb = "34.120.0.1"  # the load balancer appends the client's address and its own
    answers = [
        await hello_as(backend.ws_url, f"203.0.113.{n}, 198.51.100.9, {lb}") for n in (1, 2, 3)
    ]
    assert [a["type"] for a in answers] == ["ready", "ready", "error"]
    assert answers[2]["close"] == 4429
    other = await hello_as(backend.ws_url, f"198.51.100.10, {lb}")
    assert other["type"] == "ready"


async def test_too_few_forwarded_entries_count_as_the_peer(
    emulator: EmulatorServer, start_backend: StartBackend
) -> None:
    settings = backend_settings(emulator, rate_limit_connections=2, trusted_proxy_hops=2)
    backend = await start_backend(settings)
    answers = [await hello_as(backend.ws_url, f"198.51.100.{n}") for n in (1, 2, 3)]
    assert [a["type"] for a in answers] == ["ready", "ready", "error"]  # all 127.0.0.1


# ---- slow and idle sockets ------------------------------------------------------------

#: What slow clients send before they stop: nothing, part of a request line, part of
#: the headers.
SLOW_STARTS = [b"", b"GET /hea", b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "]


async def test_sockets_slow_to_send_headers_are_closed(start_server: StartServer) -> None:
    edge = await start_server(http_header_timeout_s=HEADER_TIMEOUT_S)
    sockets = []
    for i in range(240):
        reader, writer = await asyncio.open_connection("127.0.0.1", edge.port)
        writer.write(SLOW_STARTS[i % len(SLOW_STARTS)])
        sockets.append((i % len(SLOW_STARTS), reader, writer))
    try:
        async with asyncio.timeout(LIMIT_S):
            answers = await asyncio.gather(*(read_until_closed(r) for _, r, _w in sockets))
    finally:
        for _, _r, writer in sockets:
            writer.close()
    for (kind, _r, _w), answer in zip(sockets, answers, strict=True):
        if kind == 0:
            assert answer == b"", "a connection that said nothing is just closed"
        else:
            assert answer.startswith(b"HTTP/1.1 408 "), answer[:80]
    await wait_http(edge.ok_url, limit_s=LIMIT_S)


async def test_dribbled_headers_do_not_extend_the_deadline(start_server: StartServer) -> None:
    edge = await start_server(http_header_timeout_s=HEADER_TIMEOUT_S)
    reader, writer = await asyncio.open_connection("127.0.0.1", edge.port)
    request = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Drip: " + b"a" * 10_000
    closed = asyncio.create_task(read_until_closed(reader))
    try:
        async with asyncio.timeout(LIMIT_S):
            for byte in request:  # one byte per 20 ms: always "active", never complete
                if closed.done():
                    break
                writer.write(bytes([byte]))
                await asyncio.sleep(0.02)
            answer = await closed
    finally:
        writer.close()
    assert answer.startswith(b"HTTP/1.1 408 ")


async def test_idle_keep_alive_connections_are_closed(start_server: StartServer) -> None:
    edge = await start_server(http_keep_alive_s=1)
    reader, writer = await asyncio.open_connection("127.0.0.1", edge.port)
    writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    try:
        async with asyncio.timeout(LIMIT_S):
            answer = await read_until_closed(reader)  # the answer, then the close
    finally:
        writer.close()
    assert answer.startswith(b"HTTP/1.1 ")


# ---- the connection cap ---------------------------------------------------------------


async def test_connections_beyond_the_cap_get_503_with_retry_after(
    start_server: StartServer,
) -> None:
    cap = 4
    edge = await start_server(max_connections=cap)
    held = [await asyncio.open_connection("127.0.0.1", edge.port) for _ in range(cap)]
    for _reader, writer in held:
        writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # headers not finished
        await writer.drain()
    try:
        async with httpx.AsyncClient() as http:
            busy = await http.get(edge.ok_url)
        assert busy.status_code == 503
        assert busy.headers["retry-after"] == str(RETRY_AFTER_S)
    finally:
        for _reader, writer in held:
            writer.close()
    await wait_http(edge.ok_url, limit_s=LIMIT_S)  # the held sockets are gone: served again


# ---- the open-files limit -------------------------------------------------------------


async def test_serve_raises_the_open_files_limit(emulator: EmulatorServer) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard <= 256:
        pytest.skip("the hard open-files limit leaves nothing to raise")
    port = free_port()
    env = serve_env(emulator, port)

    # The shell lowers the soft limit and execs the server in its place (no preexec_fn:
    # forking a threaded test process must not run Python in the child).
    proc = await asyncio.create_subprocess_exec(
        "/bin/sh",
        "-c",
        'ulimit -S -n 256 && exec "$0" -m liveavatar serve',
        sys.executable,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await wait_http(f"http://127.0.0.1:{port}/healthz")
        limits = await asyncio.to_thread(Path(f"/proc/{proc.pid}/limits").read_text)
    finally:
        proc.terminate()
        await proc.wait()
    line = next(row for row in limits.splitlines() if row.startswith("Max open files"))
    child_soft, child_hard = line.split()[3:5]
    assert child_soft == child_hard, line
