"""`liveavatar serve` as Cloud Run runs it: a real process that gets SIGTERM."""

from __future__ import annotations

import asyncio
import signal

from liveavatar.emulator.server import EmulatorServer
from liveavatar.errors import CLOSE_RECONNECT
from tests.support.browser import browser, count
from tests.support.procs import serve_process


async def test_sigterm_sends_going_away_and_exits_cleanly(emulator: EmulatorServer) -> None:
    async with serve_process(emulator, capture=True) as (proc, port):
        async with browser(f"ws://127.0.0.1:{port}/ws") as (_ws, log):
            await log.wait_for(lambda log: count("ready")(log) == 1)
            proc.send_signal(signal.SIGTERM)
            await log.wait_for(lambda log: log.close_code is not None)
        assert log.messages("going_away")
        assert log.close_code == CLOSE_RECONNECT
        async with asyncio.timeout(10):  # Cloud Run kills the instance 10 s after SIGTERM
            assert await proc.wait() == 0
        assert proc.stdout is not None
        lines = (await proc.stdout.read()).decode().splitlines()
        session_lines = [line for line in lines if '"session_id"' in line]
        assert session_lines, "session log lines carry the session id"
        assert all(line.startswith("{") for line in lines if line.strip())
