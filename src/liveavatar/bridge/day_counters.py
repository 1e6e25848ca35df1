"""The day's event counters (Live reconnects and rotations, errors by kind), written to the
store off the audio path.

Sessions only call `count`, which never waits: counts gather in memory by (UTC day, name)
and one task for the instance writes them with `Store.increment_daily(counters=...)`, as
soon as there are some, in one atomic increment per day. A burst of events costs one write.
A write the store refused is tried again with what came since; a write that timed out may
have landed, so it is not repeated: an event is counted at most once.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import re
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Protocol

from liveavatar.store.day_totals import COUNTER_NAME_PATTERN

logger = logging.getLogger(__name__)

WRITE_TIMEOUT_S = 5.0
RETRY_S = 5.0  # after a refused write
MAX_PENDING = 512  # (day, name) pairs waiting; the names are a closed set, so never reached
CLOSE_TIMEOUT_S = 3.0

_NAME = re.compile(COUNTER_NAME_PATTERN)


class CounterStore(Protocol):
    async def increment_daily(
        self, date: dt.date | str, *, counters: Mapping[str, int] | None = None
    ) -> None: ...


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class DayCounters:
    """One instance's event counts on their way to the store (`run` in one owned task)."""

    def __init__(
        self,
        store: CounterStore,
        *,
        clock: Callable[[], dt.datetime] = _utcnow,
        write_timeout_s: float = WRITE_TIMEOUT_S,
        retry_s: float = RETRY_S,
    ) -> None:
        self._store = store
        self._clock = clock
        self._write_timeout_s = write_timeout_s
        self._retry_s = retry_s
        self._pending: Counter[tuple[str, str]] = Counter()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def count(self, name: str, n: int = 1) -> None:
        """Add `n` to today's counter `name` (`store.day_totals.COUNTER_*`, "error.<code>")."""
        if not _NAME.match(name):
            logger.error("not a counter name", extra={"counter": name[:80]})
            return
        key = (self._clock().date().isoformat(), name)
        if key not in self._pending and len(self._pending) >= MAX_PENDING:
            logger.error("counter dropped: the store is far behind", extra={"counter": name})
            return
        self._pending[key] += n
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="day-counters")

    async def run(self) -> None:
        """Write counts as they come, until cancelled."""
        while True:
            # A refused write waits for the next event or RETRY_S, whichever is first.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._retry_s if self._pending else None):
                    await self._wake.wait()
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        """Write every count waiting, one atomic increment per day. Never raises for a
        store problem."""
        pending, self._pending = self._pending, Counter()
        days: dict[str, dict[str, int]] = {}
        for (day, name), n in pending.items():
            days.setdefault(day, {})[name] = n
        for day, counters in sorted(days.items()):
            try:
                async with asyncio.timeout(self._write_timeout_s):
                    await self._store.increment_daily(day, counters=counters)
            except TimeoutError:
                logger.warning("event counters may be lost: the store did not answer")
            except Exception as exc:
                logger.warning("could not write event counters", extra={"error": repr(exc)})
                self._pending.update({(day, k): v for k, v in counters.items()})

    async def close(self) -> None:
        """Stop the task and write what is left (bounded)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task], timeout=CLOSE_TIMEOUT_S)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await self.flush()
