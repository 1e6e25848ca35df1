"""The smart microphone path against a recording stand-in for the Live link: what reaches
Live, in order, when the reader hands over audio faster than the detector runs."""

from __future__ import annotations

import asyncio
from typing import cast

from liveavatar.bridge.smart_turn import SmartTurn
from liveavatar.live.link import LiveLink
from liveavatar.metrics import Metrics
from liveavatar.turn import models
from liveavatar.turn.detector import TurnDetector, TurnEvent
from liveavatar.turn.settings import TurnSettings
from tests.support.speech import chunks, silence, synthesize_pcm16, trim


class Link:
    """Records what the path sends: audio byte counts and mic-off marks."""

    def __init__(self) -> None:
        self.sent: list[int | str] = []
        self.ended = asyncio.Event()

    async def send_audio(self, pcm: bytes) -> None:
        self.sent.append(len(pcm))

    async def audio_stream_end(self) -> None:
        self.sent.append("end")
        self.ended.set()


class CountingDetector(TurnDetector):
    calls = 0

    def process(self, pcm: bytes) -> list[TurnEvent]:
        self.calls += 1
        return super().process(pcm)


async def test_queued_audio_goes_through_in_order_and_in_few_pool_calls() -> None:
    link = Link()
    detector = CountingDetector(models.shared(), TurnSettings())
    path = SmartTurn(cast(LiveLink, link), detector, Metrics(), "t")
    speech = trim(synthesize_pcm16("what is the weather like in paris today"))
    pieces = chunks(silence(300) + speech, 20)
    try:
        for piece in pieces:  # as fast as a reader that fell behind
            await path.audio(piece)
        await path.end()
        async with asyncio.timeout(30):
            await link.ended.wait()
    finally:
        await path.close()
    assert link.sent[-1] == "end" and link.sent.count("end") == 1
    forwarded = sum(n for n in link.sent if isinstance(n, int))
    assert forwarded >= len(speech) - 64 * 32  # the utterance, from just before it started
    assert detector.calls < len(pieces) // 4


async def test_close_ends_the_detector_task() -> None:
    link = Link()
    path = SmartTurn(
        cast(LiveLink, link), TurnDetector(models.shared(), TurnSettings()), Metrics(), "t"
    )
    await path.audio(silence(5000))
    await path.close()
    await path.close()
    assert "end" not in link.sent
