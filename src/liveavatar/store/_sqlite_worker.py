"""A thread that owns one SQLite connection and runs jobs for the event loop, in order.

sqlite3 calls block, so none may run on the event loop. One connection per thread also
means no lock contention inside the process: the single writer thread serialises this
process's writes, and SQLite's busy timeout arbitrates with other processes (the dashboard).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from liveavatar.store.base import StoreError, StoreUnavailable

T = TypeVar("T")
Connect = Callable[[], sqlite3.Connection]


@dataclass
class _Job:
    fn: Callable[[sqlite3.Connection], Any]
    future: concurrent.futures.Future[Any]


class Worker:
    """Runs `fn(connection)` jobs on a dedicated thread; at most `max_pending` queued."""

    def __init__(self, name: str, connect: Connect, *, max_pending: int, timeout_s: float) -> None:
        self._name = name
        self._connect = connect
        self._timeout_s = timeout_s
        # The queue itself is unbounded; the semaphore is what bounds it, without ever
        # blocking the event loop (a full queue fails fast instead of waiting).
        self._slots = threading.BoundedSemaphore(max_pending)
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    async def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn` on the worker thread; bounded by the worker's timeout."""
        if self._closed:
            raise StoreUnavailable("store is closed")
        if not self._slots.acquire(blocking=False):
            raise StoreUnavailable(f"{self._name}: too many pending operations")
        job = _Job(fn, concurrent.futures.Future())
        self._jobs.put(job)
        try:
            async with asyncio.timeout(self._timeout_s):
                # wrap_future cancels the job if we give up first; a job not yet started
                # then never runs.
                result: T = await asyncio.wrap_future(job.future)
                return result
        except TimeoutError:
            raise StoreUnavailable(f"{self._name}: no answer in {self._timeout_s:g} s") from None

    def close(self, timeout_s: float) -> None:
        """Stop after the queued jobs; blocks up to `timeout_s` (call it off the loop)."""
        if not self._closed:
            self._closed = True
            self._jobs.put(None)
        self._thread.join(timeout_s)

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        failure: BaseException | None = None
        try:
            conn = self._connect()
        except (sqlite3.Error, OSError, StoreError) as exc:
            # Fail every job with the cause rather than dying silently.
            failure = exc
        try:
            while (job := self._jobs.get()) is not None:
                try:
                    if not job.future.set_running_or_notify_cancel():
                        continue
                    if failure is not None or conn is None:
                        job.future.set_exception(_unavailable(failure))
                        continue
                    try:
                        job.future.set_result(job.fn(conn))
                    except sqlite3.OperationalError as exc:
                        # Locked past the busy timeout, disk full, I/O error: transient or
                        # environmental, not a bug in the call.
                        job.future.set_exception(_unavailable(exc))
                    except sqlite3.Error as exc:
                        err = StoreError(f"sqlite: {exc}")
                        err.__cause__ = exc
                        job.future.set_exception(err)
                    except Exception as exc:  # the caller gets it, as if raised in place
                        job.future.set_exception(exc)
                finally:
                    self._slots.release()
        finally:
            if conn is not None:
                conn.close()


def _unavailable(cause: BaseException | None) -> StoreUnavailable:
    err = StoreUnavailable(f"sqlite unavailable: {cause}")
    err.__cause__ = cause
    return err


def write_tx(fn: Callable[[sqlite3.Connection], T]) -> Callable[[sqlite3.Connection], T]:
    """`fn` inside one write transaction; taking the write lock up front means a busy
    database waits in `busy_timeout` instead of failing on a lock upgrade."""

    def job(conn: sqlite3.Connection) -> T:
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result

    return job


def execute_tx(sql: str, args: tuple[Any, ...]) -> Callable[[sqlite3.Connection], int]:
    """One statement in its own write transaction; the job returns the changed-row count."""
    return write_tx(lambda db: db.execute(sql, args).rowcount)


def read_tx(fn: Callable[[sqlite3.Connection], T]) -> Callable[[sqlite3.Connection], T]:
    """`fn` inside one read transaction, so multi-statement reads see one snapshot."""

    def job(conn: sqlite3.Connection) -> T:
        conn.execute("BEGIN")
        try:
            return fn(conn)
        finally:
            conn.execute("COMMIT")

    return job
