"""The bridge survives Live's connection limits and failures without the browser noticing."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from websockets.asyncio.client import ClientConnection

from liveavatar.emulator.config import FaultConfig
from liveavatar.errors import CLOSE_RECONNECT
from tests.integration.conftest import StartEmulator
from tests.integration.server.conftest import StartBackend, backend_settings
from tests.support.browser import BrowserLog, browser, count
from tests.support.emulator_process import EmulatorProcess
from tests.support.procs import free_port
from tests.support.speech import silence


@contextlib.asynccontextmanager
async def microphone(ws: ClientConnection) -> AsyncIterator[None]:
    """Keep streaming room silence in real time, as an open microphone does."""

    async def run() -> None:
        loop = asyncio.get_running_loop()
        start, i, chunk = loop.time(), 0, silence(20)
        while True:
            await ws.send(chunk)
            i += 1
            await asyncio.sleep(max(0.0, start + i * 0.02 - loop.time()))

    task = asyncio.create_task(run(), name="test-microphone")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def ask(ws: ClientConnection, log: BrowserLog, text: str) -> bytes:
    """Type a question; return the reply audio of exactly that turn."""
    before_frames = len(log.frames)
    done = count("turn_complete")(log)
    await ws.send(json.dumps({"type": "text", "text": text}))
    await log.wait_for(lambda log: count("turn_complete")(log) > done)
    return b"".join(f for f in log.frames[before_frames:] if isinstance(f, bytes))


async def metric(http_url: str, name: str) -> float:
    async with httpx.AsyncClient() as http:
        text = (await http.get(http_url + "/metrics")).text
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


async def wait_metric(http_url: str, name: str, at_least: float, limit_s: float = 30) -> None:
    """Poll a metric until it reaches a value (a condition with a deadline, not a fixed wait)."""
    for _ in range(int(limit_s / 0.1)):
        if await metric(http_url, name) >= at_least:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{name} stayed below {at_least}")


async def test_go_away_rotation_loses_and_repeats_nothing(
    start_emulator: StartEmulator, start_backend: StartBackend
) -> None:
    emulator = await start_emulator(connection_lifetime_s=9.0, goaway_notice_s=7.0)
    backend = await start_backend(backend_settings(emulator))
    async with browser(backend.ws_url) as (ws, log), microphone(ws):
        before = await ask(ws, log, "tell me a joke")
        await wait_metric(backend.http_url, "liveavatar_live_rotations_total", 1)
        after = await ask(ws, log, "tell me a joke")
        await ask(ws, log, "what did I say")
    # The same reply, whole, on both sides of the switch: nothing lost, nothing doubled.
    assert len(after) == len(before) > 48_000
    assert log.final("model")[-1] == "Earlier you said: tell me a joke."
    assert [m for m in log.messages("error")] == []
    assert log.close_code is None
    assert await metric(backend.http_url, "liveavatar_live_reconnects_total") == 0


async def test_live_fault_mid_turn_recovers_with_history(
    start_emulator: StartEmulator, start_backend: StartBackend
) -> None:
    # Every Live connection fails with 1011 once it is 4 s old and a reply is streaming.
    emulator = await start_emulator(faults=FaultConfig(close_after_s=4.0))
    backend = await start_backend(backend_settings(emulator))
    async with browser(backend.ws_url) as (ws, log), microphone(ws):
        await ask(ws, log, "thank you")  # short: done before the fault can fire
        await ws.send(json.dumps({"type": "text", "text": "tell me a joke"}))  # cut by 1011
        await log.wait_for(lambda log: count("interrupted")(log) >= 1)
        await log.wait_for(
            lambda log: any(m["code"] == "live_reconnecting" for m in log.messages("error"))
        )
        await ask(ws, log, "what did I say")
    # Resumed from the handle issued before the cut turn: history up to there survives.
    assert log.final("model")[-1] == "Earlier you said: thank you."
    assert await metric(backend.http_url, "liveavatar_live_reconnects_total") >= 1
    assert log.close_code is None


async def test_emulator_killed_mid_turn_then_next_turn_works(
    start_backend: StartBackend, tmp_path: Path
) -> None:
    from liveavatar.emulator.config import EmulatorConfig
    from liveavatar.emulator.server import EmulatorServer

    port = free_port()
    # The replacement is started now, held before its port: it must listen again within
    # the backend's reconnect window however slowly this machine starts Python.
    spare = await EmulatorProcess.held(port, tmp_path)
    first: EmulatorProcess | None = None
    try:
        first = await EmulatorProcess.listening(port, tmp_path)
        stub = EmulatorServer(EmulatorConfig(port=port, cert_dir=tmp_path))
        stub.port = port
        backend = await start_backend(backend_settings(stub))
        async with browser(backend.ws_url) as (ws, log), microphone(ws):
            await log.wait_for(lambda log: count("ready")(log) == 1)
            await ws.send(json.dumps({"type": "text", "text": "tell me a joke"}))
            await log.wait_for(lambda log: len(log.audio()) > 0)
            await first.kill()
            await spare.listen()
            await log.wait_for(lambda log: count("interrupted")(log) >= 1)
            reply = await ask(ws, log, "what is your name")
        assert len(reply) > 0
        assert log.final("model")[-1] == "My name is Ava."
        assert any(m["code"] == "live_reconnecting" for m in log.messages("error"))
        assert log.close_code is None
    finally:
        await spare.kill()
        if first is not None:
            await first.kill()


async def test_refused_live_tells_the_browser_why(
    start_emulator: StartEmulator, start_backend: StartBackend
) -> None:
    emulator = await start_emulator(faults=FaultConfig(refuse_setup=1008))
    backend = await start_backend(backend_settings(emulator))
    async with browser(backend.ws_url) as (_ws, log):
        await log.wait_for(lambda log: log.close_code is not None)
    (error,) = log.messages("error")
    assert error["code"] == "live_refused" and error["fatal"] is True
    assert log.close_code == 4502


async def test_shutdown_tells_browsers_to_reconnect(
    start_emulator: StartEmulator, start_backend: StartBackend
) -> None:
    emulator = await start_emulator()
    backend = await start_backend(backend_settings(emulator))
    async with browser(backend.ws_url) as (ws, log):
        await log.wait_for(lambda log: count("ready")(log) == 1)
        await backend.stop()
        await log.wait_for(lambda log: log.close_code is not None)
    assert log.messages("going_away")
    assert log.close_code == CLOSE_RECONNECT
