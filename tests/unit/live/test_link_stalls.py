"""LiveLink with guarded connections: a stall reconnects; a hung endpoint gives up in time."""

from __future__ import annotations

import asyncio

import pytest

from liveavatar.errors import LiveUnavailable
from liveavatar.live.connection import LiveChannel, LiveOpenError
from liveavatar.live.events import AudioOut, Handle, Interrupted, Reconnected, Reconnecting
from liveavatar.live.guard import guarded
from liveavatar.live.health import LiveHealth, StallStage
from liveavatar.live.link import MAX_RECONNECTS, LiveLink

from .fakes import FakeChannel

STALL_S = 0.05


class Opener:
    """Hands out fake channels, or raises the scripted failures first."""

    def __init__(self, failures: list[LiveOpenError] | None = None) -> None:
        self.failures = failures or []
        self.opened: list[FakeChannel] = []
        self.attempts = 0

    async def __call__(self, handle: str | None) -> LiveChannel:
        self.attempts += 1
        if self.failures:
            raise self.failures.pop(0)
        conn = FakeChannel(handle)
        self.opened.append(conn)
        return conn


async def no_sleep(_s: float) -> None:
    return None


async def test_a_stalled_connection_is_replaced_with_the_handle() -> None:
    stages: list[StallStage] = []
    health = LiveHealth(on_stall=stages.append)
    opener = Opener()
    link = LiveLink(
        guarded(opener, stall_timeout_s=STALL_S, health=health), name="t", sleep=no_sleep
    )
    await link.start()
    first = opener.opened[0]
    stream = link.events()
    first.push(Handle("h1"), AudioOut(b"reply"))
    async with asyncio.timeout(5):
        assert await anext(stream) == Handle("h1")
        assert await anext(stream) == AudioOut(b"reply")
        await link.send_text("are you there?")  # Live never answers this
        assert await anext(stream) == Interrupted()  # the reply in progress is gone
        assert await anext(stream) == Reconnecting(attempt=1, code=1006)
        assert await anext(stream) == Reconnected(resumed=True)
    assert stages == ["connection"]
    assert not health.is_stalled  # the new connection opened
    assert opener.opened[1].handle == "h1"
    assert link.reconnects == 1
    for _ in range(100):  # the stalled connection is closed in a background task
        if first.closed:
            break
        await asyncio.sleep(0)
    assert first.closed
    await link.close()


async def test_opens_that_run_into_their_bound_give_up_within_the_retry_window() -> None:
    now = [0.0]

    async def sleep(s: float) -> None:
        now[0] += s

    class HungOpener(Opener):
        async def __call__(self, handle: str | None) -> LiveChannel:
            now[0] += 5.0  # every attempt waits out a 5 s open bound
            return await super().__call__(handle)

    hung = [LiveOpenError("no answer", permanent=False, stalled=True) for _ in range(10)]
    opener = HungOpener(hung)
    link = LiveLink(opener, name="t", sleep=sleep, clock=lambda: now[0])
    with pytest.raises(LiveUnavailable):
        await link.start()
    assert opener.attempts == 2  # at 0 s and 5.25 s; a third could not start by 8 s


async def test_quick_failures_still_get_every_attempt() -> None:
    now = [0.0]

    async def sleep(s: float) -> None:
        now[0] += s

    opener = Opener([LiveOpenError("refused", permanent=False) for _ in range(10)])
    link = LiveLink(opener, name="t", sleep=sleep, clock=lambda: now[0])
    with pytest.raises(LiveUnavailable):
        await link.start()
    assert opener.attempts == MAX_RECONNECTS
