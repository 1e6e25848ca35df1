"""The static frontend server in-process on a free port, as `serve(..., frontend=...)`
configures it (`static_config`)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import uvicorn

from liveavatar.server.runner import static_config
from liveavatar.settings import Settings

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
START_TIMEOUT_S = 30.0


@contextlib.asynccontextmanager
async def static_server(settings: Settings, directory: Path = FRONTEND) -> AsyncIterator[int]:
    """Serve `directory` until the block ends; yields the port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    server = uvicorn.Server(static_config(directory, settings, port=port))
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    task = asyncio.create_task(server.serve(sockets=[sock]), name="test-static-server")
    try:
        async with asyncio.timeout(START_TIMEOUT_S):
            while not server.started:
                if task.done():
                    await task
                    raise RuntimeError("static server exited during start-up")
                await asyncio.sleep(0.01)
        yield port
    finally:
        server.should_exit = True
        async with asyncio.timeout(START_TIMEOUT_S):
            await task
