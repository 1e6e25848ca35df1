"""`liveavatar serve` as Cloud Run runs it: a real process that gets SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys

import httpx

from liveavatar.emulator.server import EmulatorServer
from tests.support.browser import browser, count


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_sigterm_sends_going_away_and_exits_cleanly(emulator: EmulatorServer) -> None:
    port = free_port()
    env = {
        **os.environ,
        "LIVE_BACKEND": "emulator",
        "VERTEX_AI_ENDPOINT": emulator.url,
        "LIVE_CA_FILE": str(emulator.cert_path),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "NO_GCE_CHECK": "true",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "liveavatar",
        "serve",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(300):  # readiness with a deadline
                try:
                    if (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        async with browser(f"ws://127.0.0.1:{port}/ws") as (ws, log):
            await log.wait_for(lambda log: count("ready")(log) == 1)
            proc.send_signal(signal.SIGTERM)
            await log.wait_for(lambda log: log.close_code is not None)
        assert log.messages("going_away")
        assert log.close_code == 1001
        async with asyncio.timeout(10):  # Cloud Run kills the instance 10 s after SIGTERM
            assert await proc.wait() == 0
        assert proc.stdout is not None
        lines = (await proc.stdout.read()).decode().splitlines()
        session_lines = [line for line in lines if '"session_id"' in line]
        assert session_lines, "session log lines carry the session id"
        assert all(line.startswith("{") for line in lines if line.strip())
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
