"""LiveLink's rotation and recovery logic against scripted fake connections."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import cast

import pytest

from liveavatar.errors import LiveRefused, LiveUnavailable
from liveavatar.live.connection import LiveConnection, LiveOpenError, LiveSendError
from liveavatar.live.events import (
    AudioOut,
    Closed,
    GoAway,
    Handle,
    Interrupted,
    LinkEvent,
    LiveEvent,
    Reconnected,
    Reconnecting,
    Rotated,
    TurnComplete,
)
from liveavatar.live.link import LiveLink


class FakeConnection:
    """Events are pushed by the test; sends are recorded."""

    def __init__(self, handle: str | None) -> None:
        self.handle = handle
        self.sent: list[bytes] = []
        self.texts: list[str] = []
        self.ended = 0
        self.closed = False
        self.dead = False
        self.queue: asyncio.Queue[LiveEvent] = asyncio.Queue()

    async def send_audio(self, pcm: bytes) -> None:
        if self.dead:
            raise LiveSendError("ConnectionClosed")
        self.sent.append(pcm)

    async def send_text(self, text: str) -> None:
        self.texts.append(text)

    async def audio_stream_end(self) -> None:
        self.ended += 1

    async def events(self) -> AsyncIterator[LiveEvent]:
        while True:
            event = await self.queue.get()
            yield event
            if isinstance(event, Closed):
                return

    async def close(self) -> None:
        self.closed = True


class Opener:
    """Hands out fake connections, or raises the scripted failures first."""

    def __init__(self, failures: list[LiveOpenError] | None = None) -> None:
        self.failures = failures or []
        self.opened: list[FakeConnection] = []
        self.gate: asyncio.Event | None = None

    async def __call__(self, handle: str | None) -> LiveConnection:
        if self.gate is not None:
            await self.gate.wait()
        if self.failures:
            raise self.failures.pop(0)
        conn = FakeConnection(handle)
        self.opened.append(conn)
        return cast(LiveConnection, conn)


async def no_sleep(_s: float) -> None:
    return None


async def next_event(stream: AsyncIterator[LinkEvent]) -> LinkEvent:
    async with asyncio.timeout(5):
        return await anext(stream)


async def test_rotation_between_turns_replays_recent_audio() -> None:
    opener = Opener()
    link = LiveLink(opener, name="t", sleep=no_sleep)
    await link.start()
    first = opener.opened[0]
    stream = link.events()
    await link.send_audio(b"a" * 640)
    first.queue.put_nowait(Handle("h1"))
    assert await next_event(stream) == Handle("h1")
    first.queue.put_nowait(GoAway(50))
    assert await next_event(stream) == GoAway(50)
    rotated = await next_event(stream)
    assert isinstance(rotated, Rotated)
    second = opener.opened[1]
    assert second.handle == "h1"
    assert second.sent == [b"a" * 640]  # the last second of microphone audio, replayed
    await link.send_audio(b"b" * 640)
    assert second.sent[-1] == b"b" * 640
    for _ in range(100):  # the old connection closes in a background task
        if first.closed:
            break
        await asyncio.sleep(0)
    assert first.closed
    # Events of the old connection are ignored from now on.
    first.queue.put_nowait(AudioOut(b"old"))
    second.queue.put_nowait(AudioOut(b"new"))
    assert await next_event(stream) == AudioOut(b"new")
    await link.close()


async def test_audio_before_the_mic_went_off_is_not_replayed() -> None:
    opener = Opener()
    link = LiveLink(opener, name="t", sleep=no_sleep)
    await link.start()
    first = opener.opened[0]
    stream = link.events()
    await link.send_audio(b"a" * 640)
    await link.audio_stream_end()
    first.queue.put_nowait(GoAway(50))
    assert await next_event(stream) == GoAway(50)
    await link.send_audio(b"b" * 640)  # while the next connection opens
    rotated = await next_event(stream)
    assert isinstance(rotated, Rotated)
    assert opener.opened[1].sent == [b"b" * 640]
    assert first.ended == 1
    await link.close()


async def test_go_away_mid_turn_waits_for_the_turn_boundary() -> None:
    opener = Opener()
    link = LiveLink(opener, name="t", sleep=no_sleep)
    await link.start()
    first = opener.opened[0]
    stream = link.events()
    for event in (AudioOut(b"x"), GoAway(30), AudioOut(b"y"), TurnComplete(), Handle("h2")):
        first.queue.put_nowait(event)
    seen = [await next_event(stream) for _ in range(5)]
    assert len(opener.opened) == 1 or opener.opened[1].handle == "h2"
    assert isinstance(await next_event(stream), Rotated)
    assert [c.handle for c in opener.opened] == [None, "h2"]
    assert seen[-1] == Handle("h2")
    await link.close()


async def test_a_turn_in_progress_is_no_boundary_for_rotation() -> None:
    # The extended-thinking model completes turns IN_PROGRESS while it still works on the
    # answer (reference §13.2): the handle it gives then predates what follows.
    opener = Opener()
    link = LiveLink(opener, name="t", sleep=no_sleep)
    await link.start()
    first = opener.opened[0]
    stream = link.events()
    events = (
        AudioOut(b"x"),
        GoAway(30),
        TurnComplete("IN_PROGRESS"),
        Handle("h1"),
        AudioOut(b"y"),
        TurnComplete("IDLE"),
        Handle("h2"),
    )
    for event in events:
        first.queue.put_nowait(event)
    assert [await next_event(stream) for _ in events] == list(events)
    assert isinstance(await next_event(stream), Rotated)
    assert [c.handle for c in opener.opened] == [None, "h2"]
    await link.close()


async def test_a_turn_started_while_opening_discards_the_new_connection() -> None:
    opener = Opener()
    link = LiveLink(opener, name="t", sleep=no_sleep)
    await link.start()
    first = opener.opened[0]
    stream = link.events()
    opener.gate = asyncio.Event()
    first.queue.put_nowait(GoAway(30))
    assert await next_event(stream) == GoAway(30)
    first.queue.put_nowait(AudioOut(b"reply"))  # the model starts talking meanwhile
    assert await next_event(stream) == AudioOut(b"reply")
    opener.gate.set()
    first.queue.put_nowait(TurnComplete())
    assert await next_event(stream) == TurnComplete()
    first.queue.put_nowait(Handle("h3"))
    assert await next_event(stream) == Handle("h3")
    rotated = await next_event(stream)
    assert isinstance(rotated, Rotated)
    for _ in range(100):
        if opener.opened[1].closed:
            break
        await asyncio.sleep(0)
    assert opener.opened[1].closed  # opened with the stale handle, then discarded
    assert opener.opened[2].handle == "h3"
    await link.close()


async def test_a_question_typed_while_opening_discards_the_new_connection() -> None:
    # Typed on the current connection just before the next one is ready: switching then
    # would leave the question on a connection whose answer is no longer read.
    opener = Opener()
    link = LiveLink(opener, name="t", sleep=no_sleep)
    await link.start()
    first = opener.opened[0]
    stream = link.events()
    opener.gate = asyncio.Event()
    first.queue.put_nowait(GoAway(30))
    assert await next_event(stream) == GoAway(30)
    await link.send_text("what did I say")
    assert first.texts == ["what did I say"]
    opener.gate.set()
    first.queue.put_nowait(AudioOut(b"answer"))  # the answer comes on the first connection
    assert await next_event(stream) == AudioOut(b"answer")
    first.queue.put_nowait(TurnComplete())
    assert await next_event(stream) == TurnComplete()
    first.queue.put_nowait(Handle("h4"))
    assert await next_event(stream) == Handle("h4")
    assert isinstance(await next_event(stream), Rotated)
    for _ in range(100):
        if opener.opened[1].closed:
            break
        await asyncio.sleep(0)
    assert opener.opened[1].closed  # opened before the question, then discarded
    assert opener.opened[2].handle == "h4"  # the rotation after the answer
    await link.close()


async def test_a_question_held_through_a_reconnect_is_no_boundary_either() -> None:
    # Typed while no connection was usable, the question reaches the next connection when
    # it opens: until it is answered there, a goAway must not rotate away from it.
    opener = Opener()
    link = LiveLink(opener, name="t", sleep=no_sleep)
    await link.start()
    stream = link.events()
    opener.gate = asyncio.Event()
    opener.opened[0].queue.put_nowait(Closed(1011, "Internal error occurred."))
    assert await next_event(stream) == Reconnecting(attempt=1, code=1011)
    await link.send_text("what did I say")  # held: no usable connection
    opener.gate.set()
    assert await next_event(stream) == Reconnected(resumed=False)
    second = opener.opened[1]
    assert second.texts == ["what did I say"]
    second.queue.put_nowait(GoAway(30))
    assert await next_event(stream) == GoAway(30)
    for _ in range(100):
        await asyncio.sleep(0)
    assert len(opener.opened) == 2  # no rotation while the question waits
    second.queue.put_nowait(TurnComplete())
    second.queue.put_nowait(Handle("h5"))
    assert await next_event(stream) == TurnComplete()
    assert await next_event(stream) == Handle("h5")
    for _ in range(100):
        if len(opener.opened) == 3:
            break
        await asyncio.sleep(0)
    assert opener.opened[2].handle == "h5"  # the rotation after the answer
    await link.close()


async def test_unexpected_close_mid_turn_reconnects_with_the_handle() -> None:
    opener = Opener(failures=[])
    link = LiveLink(opener, name="t", sleep=no_sleep)
    await link.start()
    first = opener.opened[0]
    stream = link.events()
    first.queue.put_nowait(Handle("h4"))
    first.queue.put_nowait(AudioOut(b"x"))
    first.queue.put_nowait(Closed(1011, "Internal error occurred."))
    assert await next_event(stream) == Handle("h4")
    assert await next_event(stream) == AudioOut(b"x")
    opener.failures = [LiveOpenError("down", permanent=False)]
    first.dead = True
    await link.send_audio(b"held")  # no usable connection: held for the next one
    assert await next_event(stream) == Interrupted()
    assert await next_event(stream) == Reconnecting(attempt=1, code=1011)
    assert await next_event(stream) == Reconnected(resumed=True)
    assert opener.opened[1].handle == "h4"
    assert b"held" in opener.opened[1].sent
    assert link.reconnects == 1
    await link.close()


async def test_permanent_refusal_is_reported() -> None:
    opener = Opener(failures=[LiveOpenError("bad key", permanent=True, code=403)])
    link = LiveLink(opener, name="t", sleep=no_sleep)
    with pytest.raises(LiveRefused):
        await link.start()


async def test_unknown_handle_falls_back_to_a_fresh_conversation() -> None:
    opener = Opener(failures=[LiveOpenError("not found", permanent=True, code=1008)])
    link = LiveLink(opener, name="t", sleep=no_sleep)
    await link.start("expired-handle")
    assert opener.opened[0].handle is None
    await link.close()


async def test_gives_up_after_repeated_transient_failures() -> None:
    delays: list[float] = []

    async def record(s: float) -> None:
        delays.append(s)

    opener = Opener(failures=[LiveOpenError("down", permanent=False)] * 10)
    link = LiveLink(opener, name="t", sleep=record)
    with pytest.raises(LiveUnavailable):
        await link.start()
    assert delays == sorted(delays) and len(delays) == 5  # backoff grows between attempts
