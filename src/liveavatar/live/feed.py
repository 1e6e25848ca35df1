"""The Live link's inbox: each connection's events read by a task of its own into one
queue, which `LiveLink.events()` reads, and the connections being closed.

While the link's reader waits with nothing queued, a connection's events (a close aside)
can go straight to a handler instead (`deliver_to`): the same events in the same order,
without waking the reader's task for each Live message (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass

from liveavatar.mailbox import Mailbox

from .connection import LiveChannel
from .events import Closed, LinkEvent, LiveEvent

logger = logging.getLogger(__name__)

EVENT_QUEUE = 256


@dataclass
class Fed:
    """A connection whose events feed the queue, and the task reading them."""

    id: int
    conn: LiveChannel
    pump: asyncio.Task[None]


@dataclass(frozen=True)
class Ready:
    """The background rotation finished opening the next connection."""


@dataclass(slots=True)
class Event:
    conn_id: int
    event: LiveEvent


class Feed:
    """One link's connections' events, in one queue.

    `accept(conn_id, event)` is the link's word on an event that could go to the
    `deliver_to` handler at once: True once it has taken it as its own (it is the current
    connection's), False to queue it.
    """

    def __init__(self, name: str, accept: Callable[[int, LiveEvent], bool]) -> None:
        self._name = name
        self._accept = accept
        self._ids = itertools.count(1)
        # One hand-over per Live message: a Mailbox, lighter than asyncio.Queue.
        self._queue: Mailbox[Event | Ready] = Mailbox(EVENT_QUEUE)
        self._handler: Callable[[LinkEvent], None] | None = None
        self._failed: Exception | None = None  # what the handler raised, for `get`
        self._idle = False  # `get` is waiting for the queue
        self._closing: set[asyncio.Task[None]] = set()

    def deliver_to(self, handler: Callable[[LinkEvent], None]) -> None:
        self._handler = handler

    async def get(self) -> Event | Ready:
        """The next queued item.

        Raises:
            Exception: what the `deliver_to` handler raised.
        """
        self._idle = True
        try:
            item = await self._queue.get()
        finally:
            self._idle = False
        if self._failed is not None:
            raise self._failed
        return item

    async def ready(self) -> None:
        await self._queue.put(Ready())

    def attach(self, conn: LiveChannel) -> Fed:
        conn_id = next(self._ids)

        async def pump() -> None:
            # Supervised: whatever ends this stream, the link hears of it as a close and
            # reconnects; a message we fail to translate must never leave it waiting.
            try:
                async for event in conn.events():
                    if not self._hand_over(conn_id, event):
                        await self._queue.put(Event(conn_id, event))
                    if isinstance(event, Closed):
                        return
                reason = "the event stream ended without a close"
            except Exception as exc:
                logger.exception("Live events failed; dropping the connection")
                reason = f"events failed: {type(exc).__name__}"
            await self._queue.put(Event(conn_id, Closed(1006, reason)))

        task = asyncio.create_task(pump(), name=f"{self._name}-live-{conn_id}")
        return Fed(conn_id, conn, task)

    def _hand_over(self, conn_id: int, event: LiveEvent) -> bool:
        handler = self._handler
        if (
            handler is None
            or not self._idle
            or self._queue.qsize()
            or isinstance(event, Closed)  # recovery waits: that is the link reader's work
            or not self._accept(conn_id, event)
        ):
            return False
        try:
            handler(event)
        except Exception as exc:  # the handler's failure, not the connection's
            self._handler = None
            self._failed = exc
            self._queue.put_nowait(Ready())  # wakes `get`, which raises it
        return True

    def detach(self, fed: Fed) -> None:
        fed.pump.cancel()
        self.retire(fed.conn)

    def retire(self, conn: LiveChannel) -> None:
        task = asyncio.create_task(conn.close(), name=f"{self._name}-close")
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def closed(self) -> None:
        """Wait for the connections being closed; bounded by their own close timeouts."""
        if self._closing:
            await asyncio.wait(self._closing, timeout=5)
