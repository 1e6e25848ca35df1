"""Fixtures that start real emulator servers on free ports, in-process."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from liveavatar.emulator.config import EmulatorConfig, FaultConfig
from liveavatar.emulator.server import EmulatorServer
from liveavatar.emulator.stt import RecognizerPool

StartEmulator = Callable[..., Awaitable[EmulatorServer]]


@pytest.fixture(scope="session")
def recognizers() -> Iterator[RecognizerPool]:
    """One speech-model pool for all emulators of the test run (models load once)."""
    pool = RecognizerPool()
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def cert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("emulator-cert")


@pytest.fixture
async def start_emulator(
    recognizers: RecognizerPool, cert_dir: Path
) -> AsyncIterator[StartEmulator]:
    """Start emulators with config overrides: `await start_emulator(brain="echo", ...)`."""
    started: list[EmulatorServer] = []

    async def start(faults: FaultConfig | None = None, **overrides: Any) -> EmulatorServer:
        config = EmulatorConfig(port=0, cert_dir=cert_dir, faults=faults or FaultConfig())
        server = EmulatorServer(dataclasses.replace(config, **overrides), recognizers=recognizers)
        await server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        await server.close()


@pytest.fixture
async def emulator(start_emulator: StartEmulator) -> EmulatorServer:
    return await start_emulator()
