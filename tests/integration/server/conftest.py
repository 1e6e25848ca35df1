"""A real backend (uvicorn on a free port) in front of a real emulator."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from liveavatar.emulator.server import EmulatorServer
from liveavatar.server.app import AppState, create_app
from liveavatar.server.runner import GracefulServer, uvicorn_config
from liveavatar.settings import Settings
from tests.support.uvicorn_server import wait_started


class Backend:
    """A running backend: `ws_url`, `http_url`, and `stop()` for shutdown tests."""

    def __init__(
        self, server: GracefulServer, task: asyncio.Task[None], port: int, app: FastAPI
    ) -> None:
        self.server = server
        self.app = app
        self.task = task
        self.port = port
        self.ws_url = f"ws://127.0.0.1:{port}/ws"
        self.http_url = f"http://127.0.0.1:{port}"

    @property
    def state(self) -> AppState:
        """The running app's state (sessions, gate, capacity), for checks after the fact."""
        state = self.app.state.live
        assert isinstance(state, AppState)
        return state

    async def stop(self) -> None:
        self.server.should_exit = True
        async with asyncio.timeout(30):
            await self.task


StartBackend = Callable[..., Awaitable[Backend]]


def backend_settings(emulator: EmulatorServer, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "live_backend": "emulator",
        "vertex_ai_endpoint": emulator.url,
        "live_ca_file": emulator.cert_path,
        "host": "127.0.0.1",
        "allowed_origins": ["http://localhost:8000"],
        "shutdown_grace_s": 2.0,
        # Each backend gets its own SQLite file and media key: tests never share state.
        "data_dir": Path(tempfile.mkdtemp(prefix="liveavatar-test-")),
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
async def start_backend() -> AsyncIterator[StartBackend]:
    started: list[Backend] = []

    async def start(settings: Settings) -> Backend:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        app = create_app(settings)
        server = GracefulServer(uvicorn_config(app, settings, port=port), app)
        server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
        task = asyncio.create_task(server.serve(sockets=[sock]), name="test-backend")
        await wait_started(server, task)
        backend = Backend(server, task, port, app)
        started.append(backend)
        return backend

    yield start
    for backend in started:
        if not backend.task.done():
            with contextlib.suppress(Exception):
                await backend.stop()


@pytest.fixture
async def backend(emulator: EmulatorServer, start_backend: StartBackend) -> Backend:
    return await start_backend(backend_settings(emulator))
