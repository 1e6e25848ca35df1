"""A Live endpoint that stops answering (stopped, not closed) is noticed, said and survived."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from liveavatar.emulator.config import EmulatorConfig, FaultConfig
from liveavatar.emulator.server import EmulatorServer
from liveavatar.emulator.stt import RecognizerPool
from liveavatar.emulator.tls import ensure_certificate
from tests.integration.conftest import StartEmulator
from tests.integration.server.conftest import StartBackend, backend_settings
from tests.integration.server.test_resilience import ask, metric, microphone
from tests.support.browser import BrowserLog, browser, count
from tests.support.emulator_process import EmulatorProcess
from tests.support.procs import free_port

STALLS = 'liveavatar_live_stalls_total{stage="connection"}'


def reconnecting(log: BrowserLog) -> bool:
    return any(m["code"] == "live_reconnecting" for m in log.messages("error"))


async def readyz(http_url: str) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.get(http_url + "/readyz")
    return answer.status_code, answer.json()


async def wait_ready(http_url: str, limit_s: float = 30) -> None:
    """Poll `/readyz` until 200 (the probe result is cached for a few seconds)."""
    for _ in range(int(limit_s / 0.2)):
        if (await readyz(http_url))[0] == 200:
            return
        await asyncio.sleep(0.2)
    raise AssertionError("/readyz stayed unavailable")


@pytest.fixture
def hung_endpoint() -> Iterator[int]:
    """A port whose connections the kernel completes but nobody ever answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        yield int(s.getsockname()[1])


async def test_a_stopped_endpoint_mid_conversation_is_noticed_and_the_talk_resumes(
    start_backend: StartBackend, recognizers: RecognizerPool, tmp_path: Path
) -> None:
    port = free_port()
    emulator = await EmulatorProcess.listening(port, tmp_path)
    try:
        stub = EmulatorServer(EmulatorConfig(port=port, cert_dir=tmp_path), recognizers=recognizers)
        stub.port = port
        settings = backend_settings(stub, live_stall_timeout_s=1.0, live_open_timeout_s=3.0)
        backend = await start_backend(settings)
        async with browser(backend.ws_url) as (ws, log), microphone(ws):
            await ask(ws, log, "thank you")
            emulator.proc.send_signal(signal.SIGSTOP)  # the process stops: no answers, no pongs
            await ws.send(json.dumps({"type": "text", "text": "tell me a joke"}))
            await log.wait_for(reconnecting)
            status, body = await readyz(backend.http_url)
            assert status == 503 and body["live"] == "stalled"
            emulator.proc.send_signal(signal.SIGCONT)
            await ask(ws, log, "what did I say")
            await wait_ready(backend.http_url)
        # Resumed with the handle issued after the first turn: its history survived.
        assert log.final("model")[-1] == "Earlier you said: thank you."
        assert log.close_code is None
        assert await metric(backend.http_url, STALLS) >= 1
    finally:
        await emulator.kill()  # also ends a stopped process


@pytest.mark.parametrize("client", ["raw", "picows", "sdk"])
async def test_a_session_that_stops_answering_is_dropped_and_reopened(
    start_emulator: StartEmulator, start_backend: StartBackend, client: str
) -> None:
    # Every connection stops answering right after setup, yet still answers pings: only
    # the application's rule (typed text must be answered) can notice.
    emulator = await start_emulator(faults=FaultConfig(stall_after_s=0.0))
    settings = backend_settings(emulator, live_client=client, live_stall_timeout_s=1.0)
    backend = await start_backend(settings)
    async with browser(backend.ws_url) as (ws, log):
        await log.wait_for(lambda log: count("ready")(log) == 1)
        await ws.send(json.dumps({"type": "text", "text": "hello"}))
        await log.wait_for(reconnecting)
        assert await metric(backend.http_url, STALLS) >= 1
    (error,) = log.messages("error")
    assert error["fatal"] is False
    assert log.close_code is None


@pytest.mark.parametrize("client", ["raw", "picows", "sdk"])
async def test_new_sessions_against_a_hung_endpoint_end_unavailable_and_readyz_says_so(
    start_backend: StartBackend,
    recognizers: RecognizerPool,
    cert_dir: Path,
    hung_endpoint: int,
    client: str,
) -> None:
    ensure_certificate(cert_dir)
    stub = EmulatorServer(
        EmulatorConfig(port=hung_endpoint, cert_dir=cert_dir), recognizers=recognizers
    )
    stub.port = hung_endpoint
    settings = backend_settings(stub, live_client=client, live_open_timeout_s=0.5)
    backend = await start_backend(settings)
    status, body = await readyz(backend.http_url)
    assert status == 503 and body["live"] == "stalled"
    async with browser(backend.ws_url) as (_ws, log):
        await log.wait_for(lambda log: log.close_code is not None)
    (error,) = log.messages("error")
    assert error["code"] == "live_unavailable" and error["fatal"] is True
    assert log.close_code == 4503
    assert await metric(backend.http_url, 'liveavatar_live_stalls_total{stage="open"}') >= 1
