"""Store fixtures: a real SQLite file, and a real Firestore emulator process (npm).

The emulator is `@firestore-emulator/server`, started through tests/support/firestore_emulator.js
(loopback only) once per session on free ports; every test gets an empty database through
its `DELETE /reset` side port. If Node or the npm packages are missing the Firestore tests
fail (CI installs them with `npm ci` at the repository root); they are never skipped.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from liveavatar.store import DB_FILENAME, SQLiteStore, Store
from liveavatar.store.firestore import FirestoreStore
from tests.support.procs import free_port

from ._firestore_indexes import INDEXES_FILE, enforce_indexes

REPO = Path(__file__).resolve().parents[3]
LAUNCHER = REPO / "tests" / "support" / "firestore_emulator.js"
PROJECT = "demo-test"
_READY_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class FirestoreEmulator:
    host: str  # for FIRESTORE_EMULATOR_HOST
    http: str  # the launcher's side port

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.http}/reset", method="DELETE")
        with urllib.request.urlopen(request, timeout=5) as response:
            response.read()

    def dump(self) -> dict[str, Any]:
        """Every document the emulator holds (its own JSON export)."""
        with urllib.request.urlopen(f"{self.http}/dump", timeout=30) as response:
            data: dict[str, Any] = json.load(response)
        return data


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(
                f"firestore emulator exited with {proc.returncode}"
                f" (did `npm ci` run at the repo root?):\n{log.read_text()}"
            )
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                response.read()
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.05)  # polling interval, not a readiness guess
    pytest.fail(f"firestore emulator not ready after {_READY_TIMEOUT_S:g} s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def firestore_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FirestoreEmulator]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is required for the Firestore emulator tests")
    if not (REPO / "node_modules" / "@firestore-emulator" / "server").is_dir():
        pytest.fail("npm packages missing: run `npm ci` at the repository root")
    grpc_port, http_port = free_port(), free_port()
    log = tmp_path_factory.mktemp("firestore-emulator") / "emulator.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [node, str(LAUNCHER), str(grpc_port), str(http_port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
    try:
        _wait_ready(f"http://127.0.0.1:{http_port}/healthz", proc, log)
        yield FirestoreEmulator(f"127.0.0.1:{grpc_port}", f"http://127.0.0.1:{http_port}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
async def firestore_store(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[FirestoreStore]:
    emulator: FirestoreEmulator = request.getfixturevalue("firestore_emulator")
    await asyncio.to_thread(emulator.reset)
    # The client reads the variable when it is built, so it only has to be set for that.
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", emulator.host)
    # Every query the test makes the store issue must have its index in the deploy file.
    unindexed = enforce_indexes(monkeypatch)
    store = FirestoreStore(project=PROJECT)
    yield store
    await store.close()
    assert unindexed == [], f"queries without their index in {INDEXES_FILE.name}"


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    store = SQLiteStore(tmp_path / "data" / DB_FILENAME)
    yield store
    await store.close()


@pytest.fixture(params=["sqlite", "firestore"])
def store(request: pytest.FixtureRequest) -> Store:
    """Each contract test runs once per backend."""
    backend: Store = request.getfixturevalue(f"{request.param}_store")
    return backend
