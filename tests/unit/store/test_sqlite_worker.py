"""The SQLite worker thread: bounded in time and in queue length, errors typed."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator

import pytest

from liveavatar.store import StoreError, StoreUnavailable
from liveavatar.store._sqlite_worker import Worker


def _memory() -> sqlite3.Connection:
    return sqlite3.connect(":memory:", isolation_level=None)


@pytest.fixture
def release() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()  # never leave a worker blocked


async def test_a_job_runs_on_the_worker_thread() -> None:
    worker = Worker("w", _memory, max_pending=4, timeout_s=10)
    name = await worker.call(lambda db: threading.current_thread().name)
    assert name == "w"
    assert await worker.call(lambda db: db.execute("SELECT 41 + 1").fetchone()[0]) == 42
    worker.close(10)


async def test_a_slow_job_times_out_and_queued_ones_are_dropped(
    release: threading.Event,
) -> None:
    worker = Worker("w", _memory, max_pending=4, timeout_s=0.2)
    ran: list[str] = []
    with pytest.raises(StoreUnavailable):
        await worker.call(lambda db: release.wait(30))
    with pytest.raises(StoreUnavailable):
        await worker.call(lambda db: ran.append("late"))
    release.set()
    assert await worker.call(lambda db: "after") == "after"
    assert ran == []  # the abandoned job never ran
    worker.close(10)


async def test_a_full_queue_fails_fast(release: threading.Event) -> None:
    worker = Worker("w", _memory, max_pending=1, timeout_s=0.2)
    with pytest.raises(StoreUnavailable):
        await worker.call(lambda db: release.wait(30))
    with pytest.raises(StoreUnavailable, match="too many pending"):
        await worker.call(lambda db: None)
    release.set()
    worker.close(10)


async def test_errors_are_typed() -> None:
    worker = Worker("w", _memory, max_pending=4, timeout_s=10)
    with pytest.raises(StoreError, match="sqlite"):
        await worker.call(lambda db: db.execute("SELECT * FROM missing_table"))

    def fails(db: sqlite3.Connection) -> None:
        raise KeyError("not a database error")

    with pytest.raises(KeyError):
        await worker.call(fails)
    worker.close(10)
    with pytest.raises(StoreUnavailable, match="closed"):
        await worker.call(lambda db: None)


async def test_a_connection_that_cannot_open_fails_every_call() -> None:
    def broken() -> sqlite3.Connection:
        raise sqlite3.OperationalError("unable to open database file")

    worker = Worker("w", broken, max_pending=4, timeout_s=10)
    for _ in range(2):
        with pytest.raises(StoreUnavailable, match="unable to open"):
            await worker.call(lambda db: None)
    worker.close(10)
