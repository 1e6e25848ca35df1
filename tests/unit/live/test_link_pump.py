"""A connection whose events fail or just stop is treated as dropped: the link reconnects."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from liveavatar.live.connection import LiveChannel
from liveavatar.live.events import AudioOut, LiveEvent, Reconnected, Reconnecting
from liveavatar.live.link import LiveLink

from .fakes import FakeChannel


class Broken(FakeChannel):
    """Yields one event, then fails the way a translation bug would (or just stops)."""

    def __init__(self, handle: str | None, *, fail: bool) -> None:
        super().__init__(handle)
        self.fail = fail

    async def events(self) -> AsyncIterator[LiveEvent]:
        yield AudioOut(b"x")
        if self.fail:
            raise KeyError("serverContent")


async def no_sleep(_s: float) -> None:
    return None


@pytest.mark.parametrize("fail", [True, False], ids=["raises", "ends"])
async def test_failed_or_ended_events_become_a_reconnect(fail: bool) -> None:
    opened: list[FakeChannel] = []

    async def opener(handle: str | None) -> LiveChannel:
        conn: FakeChannel = Broken(handle, fail=fail) if not opened else FakeChannel(handle)
        opened.append(conn)
        return conn

    link = LiveLink(opener, name="t", sleep=no_sleep)
    await link.start()
    stream = link.events()
    async with asyncio.timeout(5):
        assert await anext(stream) == AudioOut(b"x")
        events = [await anext(stream) for _ in range(3)]
    assert any(isinstance(e, Reconnecting) for e in events)
    assert any(isinstance(e, Reconnected) for e in events)
    assert len(opened) == 2
    await link.close()
