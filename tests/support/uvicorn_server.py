"""A uvicorn server run in-process, on a listening socket the test made, as a platform
hands one over: ready when `started`, stopped and awaited when the block ends."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import uvicorn

START_TIMEOUT_S = 30.0


def bound_socket() -> socket.socket:
    """A TCP socket bound to a free port on 127.0.0.1 (the server listens on it)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


async def wait_started(
    server: uvicorn.Server, task: asyncio.Task[None], limit_s: float = START_TIMEOUT_S
) -> None:
    """Until `server` accepts connections; raises if it exits first or takes `limit_s`."""
    async with asyncio.timeout(limit_s):
        while not server.started:
            if task.done():
                await task
                raise RuntimeError("the server exited during start-up")
            await asyncio.sleep(0.01)  # uvicorn offers only the flag to wait on


@contextlib.asynccontextmanager
async def serving(
    server: uvicorn.Server, sock: socket.socket, *, name: str, limit_s: float = START_TIMEOUT_S
) -> AsyncIterator[None]:
    """Run `server` on `sock` until the block ends; enters once it is started."""
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    task = asyncio.create_task(server.serve(sockets=[sock]), name=name)
    try:
        await wait_started(server, task, limit_s)
        yield
    finally:
        server.should_exit = True
        async with asyncio.timeout(limit_s):
            await task
