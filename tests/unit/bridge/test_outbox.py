"""The outbox: control overtakes audio, audio is bounded and flushable."""

from __future__ import annotations

import asyncio

import pytest

from liveavatar.bridge.outbox import CONTROL_LIMIT, Outbox, OutboxOverflow
from liveavatar.errors import CLOSE_BAD_REQUEST, AvatarError
from liveavatar.protocol import Interrupted, Pong


async def test_control_overtakes_queued_audio() -> None:
    box = Outbox()
    box.put_audio(b"a1")
    box.put_audio(b"a2")
    box.put_control(Interrupted(turn=3))
    assert await box.get() == '{"type":"interrupted","turn":3}'
    assert await box.get() == b"a1a2"


async def test_audio_waiting_together_goes_as_one_frame_in_order() -> None:
    box = Outbox()
    for i in range(3):
        box.put_audio(bytes([i]) * 4)
    assert await box.get() == bytes([0]) * 4 + bytes([1]) * 4 + bytes([2]) * 4
    assert box.queued_audio_bytes == 0
    box.put_audio(b"next")
    assert await box.get() == b"next"


async def test_flush_drops_every_queued_chunk() -> None:
    box = Outbox()
    for _ in range(5):
        box.put_audio(b"x" * 960)
    assert box.flush_audio() == 5
    assert box.queued_audio_bytes == 0
    box.put_audio(b"fresh")
    assert await box.get() == b"fresh"


async def test_audio_is_bounded_by_dropping_the_oldest() -> None:
    box = Outbox(audio_limit_bytes=3000)
    for i in range(5):
        box.put_audio(bytes([i]) * 1000)
    assert box.dropped_chunks == 2
    assert await box.get() == bytes([2]) * 1000 + bytes([3]) * 1000 + bytes([4]) * 1000


async def test_get_waits_for_the_next_frame() -> None:
    box = Outbox()
    waiter = asyncio.create_task(box.get(), name="test-get")
    await asyncio.sleep(0)
    assert not waiter.done()
    box.put_audio(b"late")
    assert await asyncio.wait_for(waiter, 1) == b"late"


def test_a_browser_that_stops_reading_is_a_client_fault_not_a_bug() -> None:
    box = Outbox()
    for i in range(CONTROL_LIMIT):
        box.put_control(Pong(t=i))
    with pytest.raises(OutboxOverflow) as info:
        box.put_control(Pong(t=-1))
    # A typed browser error and close code, so the session ends without `internal`.
    assert isinstance(info.value, AvatarError)
    assert info.value.fault.code == "bad_request"
    assert info.value.fault.close_code == CLOSE_BAD_REQUEST


async def test_sent_waits_until_the_writer_has_taken_every_frame() -> None:
    box = Outbox()
    box.put_audio(b"a1")
    box.put_control(Interrupted(turn=1))
    sent = asyncio.create_task(box.sent())
    assert await box.get() == '{"type":"interrupted","turn":1}'
    assert await box.get() == b"a1"
    await asyncio.sleep(0)
    assert not sent.done()  # the last frame is still being written
    writer = asyncio.create_task(box.get())  # the writer is back for more: all was sent
    await sent
    box.put_audio(b"a2")
    assert await writer == b"a2"
