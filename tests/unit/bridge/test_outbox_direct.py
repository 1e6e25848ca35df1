"""The outbox's direct writes: frames queued while the writer idles go out from one loop
callback, in the writer's order, and the writer task takes over whenever the socket does
not take writes at once."""

from __future__ import annotations

import asyncio

import pytest

from liveavatar.bridge.outbox import Outbox
from liveavatar.protocol import Interrupted, Pong


class Socket:
    """A DirectWriter that records what it was given and can refuse writes."""

    def __init__(self) -> None:
        self.frames: list[str | bytes] = []
        self.takes = True
        self.fails: Exception | None = None

    def writes_plain_frames(self) -> bool:
        return True

    def can_send_now(self) -> bool:
        return self.takes

    def send_now(self, frame: str | bytes) -> None:
        if self.fails is not None:
            raise self.fails
        self.frames.append(frame)


async def writer(box: Outbox, got: list[str | bytes]) -> None:
    while True:
        got.append(await box.get())


async def settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


async def test_frames_queued_together_go_out_directly_in_the_writers_order() -> None:
    box, socket = Outbox(), Socket()
    by_task: list[str | bytes] = []
    box.write_directly(socket)
    task = asyncio.create_task(writer(box, by_task), name="test-writer")
    await settle()
    box.put_audio(b"a1")
    box.put_audio(b"a2")
    box.put_control(Interrupted(turn=2))  # overtakes the audio, as through the task
    assert socket.frames == []  # written once the queuing task yields, not at each put
    await settle()
    assert socket.frames == ['{"type":"interrupted","turn":2}', b"a1a2"]
    assert by_task == []
    await asyncio.wait_for(box.sent(), 1)
    box.put_audio(b"a3")
    box.flush_audio()  # a barge-in before the callback ran: nothing of it goes out
    box.put_control(Pong(t=1.0))
    await settle()
    assert socket.frames[2:] == ['{"type":"pong","t":1.0}']
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_socket_that_does_not_take_writes_leaves_them_to_the_writer_task() -> None:
    box, socket = Outbox(), Socket()
    by_task: list[str | bytes] = []
    box.write_directly(socket)
    task = asyncio.create_task(writer(box, by_task), name="test-writer")
    await settle()
    socket.takes = False
    box.put_audio(b"a1")
    box.put_audio(b"a2")
    await settle()
    assert socket.frames == []
    assert by_task == [b"a1a2"]
    socket.takes = True
    box.put_audio(b"a3")
    await settle()
    assert socket.frames == [b"a3"]
    assert by_task == [b"a1a2"]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_failed_direct_write_ends_the_writer() -> None:
    box, socket = Outbox(), Socket()
    by_task: list[str | bytes] = []
    box.write_directly(socket)
    task = asyncio.create_task(writer(box, by_task), name="test-writer")
    await settle()
    socket.fails = ConnectionResetError()
    box.put_audio(b"a1")
    with pytest.raises(ConnectionResetError):
        await asyncio.wait_for(task, 1)
