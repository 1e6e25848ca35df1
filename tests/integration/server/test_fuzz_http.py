"""Hostile HTTP requests against a real backend (hypothesis; profiles in tests/support/fuzz.py).

Raw requests over TCP: any method, odd targets (traversal, encoded bytes, huge), headers
of any shape (WebSocket upgrades with bad keys and versions, forged forwarded headers,
duplicate and oversized fields), bodies with their length. Each gets an HTTP answer below
500 (or the connection is closed), never a hang, and the backend logs no error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from liveavatar.emulator.config import EmulatorConfig, FaultConfig
from liveavatar.emulator.server import EmulatorServer
from liveavatar.emulator.stt import RecognizerPool
from liveavatar.server.app import create_app
from liveavatar.server.runner import GracefulServer, uvicorn_config
from tests.integration.server.conftest import backend_settings
from tests.support.fuzz import SCALE, examples
from tests.support.loop_thread import LoopThread
from tests.support.uvicorn_server import wait_started

ANSWER_LIMIT_S = 30.0  # past the header timeout: an answer not given by then hangs

targets = st.one_of(
    st.sampled_from(
        [
            "/",
            "/ws",
            "/healthz",
            "/metrics",
            "/api/config",
            "/api/videos",
            "/media/../../etc/passwd",
            "/media/%2e%2e/%2e%2e/secret",
            "/media/idle/a.mp4?exp=99999999999&sig=" + "0" * 64,
            "/media/a%00b.mp4",
            "//double//slashes",
            "/" + "a" * 9000,
            "*",
            "http://evil.example/healthz",
        ]
    ),
    st.text(alphabet="/abcdefgh.%?=&#~!$'()*+,;:@[]0123456789", min_size=1, max_size=80).map(
        lambda t: t if t.startswith("/") else "/" + t
    ),
)
methods = st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "BREW"])
header_names = st.sampled_from(
    [
        "Upgrade",
        "Connection",
        "Sec-WebSocket-Key",
        "Sec-WebSocket-Version",
        "Origin",
        "X-Forwarded-For",
        "X-Forwarded-Proto",
        "Range",
        "Content-Type",
        "Accept-Encoding",
        "X-Admin-Token",
        "Cookie",
    ]
) | st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=20)
header_values = st.one_of(
    st.sampled_from(
        [
            "websocket",
            "Upgrade",
            "13",
            "8",
            "dGhlIHNhbXBsZSBub25jZQ==",
            "not-base64",
            "http://localhost:8000",
            "bytes=0-",
            "bytes=99999999999-1",
            "1.2.3.4, 5.6.7.8",
            "gzip, br",
        ]
    ),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60),
    st.integers(100, 9000).map(lambda n: "x" * n),
)


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    method, target = draw(methods), draw(targets)
    headers = draw(st.lists(st.tuples(header_names, header_values), max_size=8))
    body = draw(st.binary(max_size=200)) if method in ("POST", "PUT") else b""
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in headers]
    lines += [f"Content-Length: {len(body)}", "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def answer(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        head = await reader.readuntil(b"\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return b""  # closed without an answer: allowed (a request it would not read)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return head


@pytest.fixture
def backend_port(
    recognizers: RecognizerPool, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LoopThread, int]]:
    loop = LoopThread("http-fuzz-server")
    stack = contextlib.AsyncExitStack()
    cert_dir = tmp_path_factory.mktemp("http-fuzz-cert")

    async def start() -> int:
        emulator = EmulatorServer(
            EmulatorConfig(port=0, cert_dir=cert_dir, faults=FaultConfig()), recognizers=recognizers
        )
        await emulator.start()
        stack.push_async_callback(emulator.close)
        settings = backend_settings(emulator, rate_limit_connections=1_000_000)
        sock = stack.enter_context(socket.socket())
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        app = create_app(settings)
        server = GracefulServer(uvicorn_config(app, settings, port=port), app)
        server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
        serving = asyncio.create_task(server.serve(sockets=[sock]), name="http-fuzz-backend")

        async def stop() -> None:
            server.should_exit = True
            await serving

        stack.push_async_callback(stop)
        await wait_started(server, serving)
        return port

    try:
        yield loop, loop.run(start(), 60)
    finally:
        loop.run(stack.aclose(), 60)
        loop.close()


@pytest.mark.timeout(120 * SCALE)  # the long profile checks SCALE times more
def test_hostile_requests_get_an_answer_below_500_and_log_no_error(
    backend_port: tuple[LoopThread, int], caplog: pytest.LogCaptureFixture
) -> None:
    loop, port = backend_port
    caplog.set_level(logging.INFO)

    @examples(300)
    @given(requests())
    def hostile(request: bytes) -> None:
        seen = len(caplog.records)
        head = loop.run(answer(port, request), ANSWER_LIMIT_S)
        if head:
            version, status, *_ = head.split(b" ", 2)
            assert version == b"HTTP/1.1" and int(status) < 500, head
        troubles = [
            f"{r.name}: {r.getMessage()}"
            for r in caplog.records[seen:]
            if r.levelno >= logging.ERROR or (r.exc_info and r.name.startswith("liveavatar"))
        ]
        assert troubles == []

    hostile()
