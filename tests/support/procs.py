"""Child processes for tests: free ports, the backend as Cloud Run runs it, readiness waits."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import tempfile
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import httpx

from liveavatar.emulator.server import EmulatorServer

READY_TIMEOUT_S = 30.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_http(url: str, *, limit_s: float = READY_TIMEOUT_S) -> None:
    """Poll `url` until it answers 200, with a deadline (never a fixed sleep)."""
    async with httpx.AsyncClient() as http:
        for _ in range(int(limit_s / 0.1)):
            with contextlib.suppress(httpx.TransportError):
                if (await http.get(url)).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{url} did not become ready")


def serve_env(emulator: EmulatorServer, port: int, data_dir: Path | None = None) -> dict[str, str]:
    """The environment of a `liveavatar serve` process in front of `emulator`, with its own
    data dir (usage and conversations of other runs must not leak in)."""
    return {
        **os.environ,
        "LIVE_BACKEND": "emulator",
        "VERTEX_AI_ENDPOINT": emulator.url,
        "LIVE_CA_FILE": str(emulator.cert_path),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "NO_GCE_CHECK": "true",
        "DATA_DIR": str(data_dir or tempfile.mkdtemp(prefix="liveavatar-serve-")),
    }


@contextlib.asynccontextmanager
async def serve_process(
    emulator: EmulatorServer,
    data_dir: Path | None = None,
    *,
    capture: bool = False,
    env: Mapping[str, str] | None = None,
) -> AsyncIterator[tuple[asyncio.subprocess.Process, int]]:
    """`python -m liveavatar serve` against `emulator` (with `env` on top of its usual
    environment), ready; killed on exit if still alive."""
    port = free_port()
    env = {**serve_env(emulator, port, data_dir), **(env or {})}
    output = asyncio.subprocess.PIPE if capture else asyncio.subprocess.DEVNULL
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "liveavatar",
        "serve",
        env=env,
        stdout=output,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        await wait_http(f"http://127.0.0.1:{port}/readyz")
        yield proc, port
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def listening_address(port: int) -> str | None:
    """The local IPv4 address a socket listens on for `port` (Linux's /proc/net/tcp)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        address, _, hex_port = fields[1].partition(":")
        if fields[3] == "0A" and int(hex_port, 16) == port:
            return ".".join(str(b) for b in reversed(bytes.fromhex(address)))
    return None
