"""The static frontend server in-process on a free port, as `serve(..., frontend=...)`
configures it (`static_config`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import uvicorn

from liveavatar.server.runner import static_config
from liveavatar.settings import Settings
from tests.support.uvicorn_server import bound_socket, serving

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"


@contextlib.asynccontextmanager
async def static_server(settings: Settings, directory: Path = FRONTEND) -> AsyncIterator[int]:
    """Serve `directory` until the block ends; yields the port."""
    with bound_socket() as sock:
        port = int(sock.getsockname()[1])
        server = uvicorn.Server(static_config(directory, settings, port=port))
        async with serving(server, sock, name="test-static-server"):
            yield port
