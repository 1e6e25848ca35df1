"""The Live emulator as a process of its own (`liveavatar emulator`), for tests that kill or
stop it under a running backend.

The process is started held: Python up and the emulator imported, waiting for a word on
stdin before it binds its port. A replacement for a killed emulator is then listening a
moment after the word, even on a loaded machine, where starting Python afresh takes longer
than the backend goes on retrying (`live/link.py`, `RETRY_WINDOW_S`); a restarted service
comes back that fast too.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path

START_TIMEOUT_S = 60.0
_HELD = b"emulator imported"
_LISTENING = b"live emulator listening"
# Imports what the command needs, says so, waits for the word, then runs the command as
# `python -m liveavatar emulator ...` would.
_LAUNCHER = f"""
import sys
import liveavatar.emulator.server
from liveavatar.cli import main
print({_HELD.decode()!r}, flush=True)
sys.stdin.readline()
raise SystemExit(main(sys.argv[1:]))
"""


async def _wait_line(stream: asyncio.StreamReader, marker: bytes) -> None:
    async with asyncio.timeout(START_TIMEOUT_S):
        while marker not in (line := await stream.readline()):
            if not line:
                raise RuntimeError("the emulator process exited during start-up")


async def _discard(stream: asyncio.StreamReader) -> None:
    """Read the log to its end: a full pipe would block the emulator's next log line."""
    while await stream.read(65536):
        pass


class EmulatorProcess:
    """One `liveavatar emulator` process on a given port (TLS, certificate in `cert_dir`)."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self._drain: asyncio.Task[None] | None = None

    @classmethod
    async def held(cls, port: int, cert_dir: Path) -> EmulatorProcess:
        """Started and imported, not yet listening: `listen` lets it bind `port`."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _LAUNCHER,
            "emulator",
            "--port",
            str(port),
            "--cert-dir",
            str(cert_dir),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        started = cls(proc)
        try:
            assert proc.stdout is not None
            await _wait_line(proc.stdout, _HELD)
        except BaseException:
            await started.kill()
            raise
        return started

    @classmethod
    async def listening(cls, port: int, cert_dir: Path) -> EmulatorProcess:
        started = await cls.held(port, cert_dir)
        await started.listen()
        return started

    async def listen(self) -> None:
        """Let the process bind its port; returns once it accepts connections."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(b"listen\n")
            await self.proc.stdin.drain()
            await _wait_line(self.proc.stdout, _LISTENING)
        except BaseException:
            await self.kill()
            raise
        self._drain = asyncio.create_task(_discard(self.proc.stdout), name="emulator-log-drain")

    async def kill(self) -> None:
        """Kill the process (a stopped one too) and reap it."""
        if self.proc.returncode is None:
            self.proc.kill()
        await self.proc.wait()
        if self._drain is not None:
            self._drain.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._drain
