"""`LiveLink.deliver_to`: events handed straight to the reader's handler while it waits
with nothing queued; the same events in the same order as through `events()`, a close
and rotation through `events()`, and a handler's failure raised by `events()`."""

from __future__ import annotations

import asyncio

import pytest

from liveavatar.live.connection import LiveChannel
from liveavatar.live.events import (
    AudioOut,
    Closed,
    GoAway,
    Handle,
    LinkEvent,
    Reconnected,
    Reconnecting,
    Rotated,
    TurnComplete,
)
from liveavatar.live.link import LiveLink

from .fakes import FakeChannel


async def no_sleep(_s: float) -> None:
    return None


class Reader:
    """Reads a link as the session does: `deliver_to` plus `events()`, one handler."""

    def __init__(self, link: LiveLink, *, fail_on: bytes | None = None) -> None:
        self.link = link
        self.seen: list[LinkEvent] = []
        self.via_events: list[LinkEvent] = []
        self.fail_on = fail_on
        self.changed = asyncio.Event()

    def handle(self, event: LinkEvent) -> None:
        if self.fail_on is not None and event == AudioOut(self.fail_on):
            raise RuntimeError("the browser stopped reading")
        self.seen.append(event)
        self.changed.set()

    async def run(self) -> None:
        self.link.deliver_to(self.handle)
        async for event in self.link.events():
            self.via_events.append(event)
            self.handle(event)

    async def until(self, count: int) -> None:
        async with asyncio.timeout(5):
            while len(self.seen) < count:
                self.changed.clear()
                await self.changed.wait()


async def test_events_reach_the_handler_in_order_and_a_close_goes_through_events() -> None:
    opened: list[FakeChannel] = []

    async def opener(handle: str | None) -> LiveChannel:
        opened.append(FakeChannel(handle))
        return opened[-1]

    link = LiveLink(opener, name="t", sleep=no_sleep)
    await link.start()
    reader = Reader(link)
    task = asyncio.create_task(reader.run(), name="test-reader")
    await asyncio.sleep(0)
    opened[0].push(*(AudioOut(bytes([i])) for i in range(5)), TurnComplete())
    await reader.until(6)
    assert reader.seen == [*(AudioOut(bytes([i])) for i in range(5)), TurnComplete()]
    assert reader.via_events == []  # none needed a wake-up of the reader's task
    opened[0].push(Closed(1011, "gone"))
    await reader.until(8)
    assert isinstance(reader.seen[6], Reconnecting) and isinstance(reader.seen[7], Reconnected)
    assert reader.via_events == reader.seen[6:]
    opened[1].push(AudioOut(b"after"))
    await reader.until(9)
    assert reader.seen[8] == AudioOut(b"after")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await link.close()


async def test_a_rotation_still_switches_with_events_handed_over() -> None:
    opened: list[FakeChannel] = []

    async def opener(handle: str | None) -> LiveChannel:
        opened.append(FakeChannel(handle))
        return opened[-1]

    link = LiveLink(opener, name="t", sleep=no_sleep)
    await link.start()
    reader = Reader(link)
    task = asyncio.create_task(reader.run(), name="test-reader")
    await asyncio.sleep(0)
    opened[0].push(Handle("h1"), GoAway(5.0))
    await reader.until(3)
    assert isinstance(reader.seen[2], Rotated)
    assert opened[1].handle == "h1"
    opened[0].push(AudioOut(b"old"))  # a connection we left: dropped
    opened[1].push(AudioOut(b"new"))
    await reader.until(4)
    assert reader.seen[3:] == [AudioOut(b"new")]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await link.close()


async def test_what_the_handler_raises_ends_the_reader_not_the_connection() -> None:
    opened: list[FakeChannel] = []

    async def opener(handle: str | None) -> LiveChannel:
        opened.append(FakeChannel(handle))
        return opened[-1]

    link = LiveLink(opener, name="t", sleep=no_sleep)
    await link.start()
    reader = Reader(link, fail_on=b"bad")
    task = asyncio.create_task(reader.run(), name="test-reader")
    await asyncio.sleep(0)
    opened[0].push(AudioOut(b"ok"), AudioOut(b"bad"), AudioOut(b"later"))
    with pytest.raises(RuntimeError, match="stopped reading"):
        await asyncio.wait_for(task, 5)
    assert reader.seen == [AudioOut(b"ok")]
    assert len(opened) == 1  # no reconnect: the connection was fine
    await link.close()
