"""`asyncio.Queue` with lighter `put` and `get`, for the hand-overs made once per audio frame.

Every 20 ms chunk of every session passes two queues: the browser socket's receive queue
(uvicorn) and the Live link's event queue. `asyncio.Queue` spends most of each hand-over
on bookkeeping for `join()` (which neither uses) and on indirections (`_get_loop`, `full`,
`_put`, `_wakeup_next`). `Mailbox` keeps its semantics (FIFO, bounded `put` that waits,
waiters woken in order, cancellation-safe) and its type, so it can stand in for one,
without that work (docs/PERFORMANCE.md). `join()` and `task_done()` are not supported.

The loop is looked up once, at the first wait, and kept: `asyncio.get_running_loop()`
costs a system call (`getpid`) on each call in CPython 3.11, once per frame here. A
Mailbox serves one event loop, as an `asyncio.Queue` does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import TypeVar

T = TypeVar("T")


def _wake_first(waiters: deque[asyncio.Future[None]]) -> None:
    while waiters:
        waiter = waiters.popleft()
        if not waiter.done():
            waiter.set_result(None)
            return


class Mailbox(asyncio.Queue[T]):
    """A FIFO queue, `maxsize` items at most (0: unbounded)."""

    _queue: deque[T]
    _getters: deque[asyncio.Future[None]]
    _putters: deque[asyncio.Future[None]]
    _maxsize: int

    def __init__(self, maxsize: int = 0) -> None:
        super().__init__(maxsize)
        self._waits_on: asyncio.AbstractEventLoop | None = None

    def _future(self) -> asyncio.Future[None]:
        loop = self._waits_on
        if loop is None:
            loop = self._waits_on = asyncio.get_running_loop()
        return loop.create_future()

    def put_nowait(self, item: T) -> None:
        if self._maxsize > 0 and len(self._queue) >= self._maxsize:
            raise asyncio.QueueFull
        self._queue.append(item)
        if self._getters:
            _wake_first(self._getters)

    async def put(self, item: T) -> None:
        while self._maxsize > 0 and len(self._queue) >= self._maxsize:
            putter = self._future()
            self._putters.append(putter)
            try:
                await putter
            except BaseException:
                putter.cancel()
                with contextlib.suppress(ValueError):
                    self._putters.remove(putter)
                # A wake-up this putter took without using it goes to the next one.
                if len(self._queue) < self._maxsize and not putter.cancelled():
                    _wake_first(self._putters)
                raise
        self.put_nowait(item)

    def get_nowait(self) -> T:
        if not self._queue:
            raise asyncio.QueueEmpty
        item = self._queue.popleft()
        if self._putters:
            _wake_first(self._putters)
        return item

    async def get(self) -> T:
        while not self._queue:
            getter = self._future()
            self._getters.append(getter)
            try:
                await getter
            except BaseException:
                getter.cancel()
                with contextlib.suppress(ValueError):
                    self._getters.remove(getter)
                if self._queue and not getter.cancelled():
                    _wake_first(self._getters)
                raise
        return self.get_nowait()

    async def join(self) -> None:
        raise NotImplementedError("Mailbox does not count finished items")

    def task_done(self) -> None:
        raise NotImplementedError("Mailbox does not count finished items")
