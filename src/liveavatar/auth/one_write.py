"""One store write at a time, which outlives the cancellation of whoever waits for it.

A session's quota task is cancelled when the session ends, often while it waits on an
increment (a turn's cost charged just before the page closed). Cancelling the waiter does
not undo a write the store is already making: the SQLite worker thread or the Firestore
transaction goes on and lands. A charge that treated the cancellation as a failure kept
the amount pending, and the teardown's last charge wrote it a second time. So the write
runs as its own task, shielded from the waiter's cancellation, and applies its own outcome
(advance on success, keep pending on failure); the teardown waits for it to settle before
charging what is left, so each amount is written exactly once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class OneWrite:
    """Runs store writes one after another, each in a task of its own (named `name`)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._task: asyncio.Task[Any] | None = None

    async def run(self, write: Coroutine[Any, Any, T]) -> T:
        """`write`'s result, once the previous write has settled. Cancelling the caller
        leaves the write running; `settle` waits for it."""
        await self.settle()
        task = self._task = asyncio.create_task(write, name=self._name)
        return await asyncio.shield(task)

    async def settle(self) -> None:
        """Wait until the write in flight, if any, is over (its outcome already applied by
        the write itself; a failure is not raised here). Bounded by the write's own
        timeout."""
        task = self._task
        if task is not None and not task.done():
            await asyncio.wait([task])
