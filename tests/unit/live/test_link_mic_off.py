"""The microphone going off while no Live connection is usable is not lost: it is held in
order with the held audio and sent after it once the link has reconnected."""

from __future__ import annotations

import asyncio
from typing import cast

from liveavatar.live.connection import LiveChannel
from liveavatar.live.events import Closed, Reconnected, Reconnecting
from liveavatar.live.link import LiveLink

from .fakes import FakeChannel

MIC_OFF = "mic-off"


class Channel(FakeChannel):
    """Records audio and the microphone going off in one ordered log."""

    def __init__(self, handle: str | None = None) -> None:
        super().__init__(handle)
        self.log: list[bytes | str] = []

    async def send_audio(self, pcm: bytes) -> None:
        self.log.append(pcm)

    async def audio_stream_end(self) -> None:
        self.log.append(MIC_OFF)


async def no_sleep(_s: float) -> None:
    return None


async def test_mic_off_while_reconnecting_follows_the_held_audio() -> None:
    opened: list[Channel] = []
    gate = asyncio.Event()

    async def opener(handle: str | None) -> LiveChannel:
        if opened:
            await gate.wait()  # the reconnect is under way until the test opens the gate
        opened.append(Channel(handle))
        return cast(LiveChannel, opened[-1])

    link = LiveLink(opener, name="t", sleep=no_sleep)
    await link.start()
    stream = link.events()
    await link.send_audio(b"a")
    await link.audio_stream_end()
    opened[0].push(Closed(1011, "Internal error occurred."))
    async with asyncio.timeout(5):
        assert await anext(stream) == Reconnecting(attempt=1, code=1011)
    await link.audio_stream_end()  # nothing held yet: nothing to end
    await link.send_audio(b"b")
    await link.audio_stream_end()
    await link.audio_stream_end()  # twice in a row ends the same utterance once
    await link.send_audio(b"c")
    gate.set()
    async with asyncio.timeout(5):
        assert await anext(stream) == Reconnected(resumed=False)
    assert opened[0].log == [b"a", MIC_OFF]
    assert opened[1].log == [b"b", MIC_OFF, b"c"]
    await link.close()
