"""One store write at a time, which outlives the cancellation of whoever waits for it.

A session's quota task is cancelled when the session ends, often while it waits on an
increment (a turn's cost charged just before the page closed). Cancelling the waiter does
not undo a write the store is already making: the SQLite worker thread goes on and lands
(a Firestore commit already sent can land the same way). A charge that treated the
cancellation as a failure kept the amount pending, and the teardown's last charge wrote it
a second time. So the write runs as its own task, shielded from the waiter's
cancellation, and applies its own outcome (advance on success, keep pending on failure);
the next write, the teardown's last charge among them, starts only once it has settled,
so each amount is written exactly once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class OneWrite:
    """Runs store writes one after another, each in a task of its own (named `name`)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._task: asyncio.Task[Any] | None = None

    async def run(self, write: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """`write()`'s result. It starts once the previous write is over (bounded by that
        write's own timeout; its outcome, failure included, already applied by the write
        itself). Cancelling the caller leaves the write running for the next to wait on."""
        previous = self._task
        if previous is not None and not previous.done():
            await asyncio.wait([previous])
        task = self._task = asyncio.create_task(write(), name=self._name)
        return await asyncio.shield(task)
