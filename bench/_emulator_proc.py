"""Start `liveavatar emulator` as a child process and learn its URL from its first log line."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from liveavatar.child_lifetime import exit_with_parent


@contextlib.asynccontextmanager
async def emulator_process(cert_dir: Path, *args: str) -> AsyncIterator[str]:
    """Run an emulator on a free port; yields its `wss://` URL once it listens."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "liveavatar",
        "emulator",
        "--port",
        "0",
        "--cert-dir",
        str(cert_dir),
        *args,
        stdout=asyncio.subprocess.PIPE,
        preexec_fn=exit_with_parent(),
    )
    try:
        assert proc.stdout is not None
        url = None
        async with asyncio.timeout(30):
            while url is None:
                line = await proc.stdout.readline()
                if not line:
                    raise RuntimeError("emulator exited before listening")
                entry = json.loads(line)
                if entry.get("message") == "live emulator listening":
                    url = str(entry["url"])
        drain = asyncio.create_task(_drain(proc.stdout), name="emulator-log-drain")
        yield url
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                async with asyncio.timeout(10):
                    await proc.wait()
            except TimeoutError:
                proc.kill()
                await proc.wait()
        with contextlib.suppress(NameError):
            drain.cancel()


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.readline():
        pass
