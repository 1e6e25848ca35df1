"""The smart microphone path against a recording stand-in for the Live link: what reaches
Live, in order, when the reader hands over audio faster than the detector runs."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import cast

from liveavatar.bridge.smart_turn import SmartTurn
from liveavatar.live.link import LiveLink
from liveavatar.metrics import Metrics
from liveavatar.turn import models
from liveavatar.turn.detector import Ended, Started, TurnDetector, TurnEvent
from liveavatar.turn.settings import TurnSettings
from tests.support.speech import chunks, silence, synthesize_pcm16, trim


class Link:
    """Records what the path sends: audio byte counts and mic-off marks."""

    def __init__(self) -> None:
        self.sent: list[int | str] = []
        self.ended = asyncio.Event()
        self.changed = asyncio.Event()

    async def send_audio(self, pcm: bytes) -> None:
        self.sent.append(len(pcm))
        self.changed.set()

    async def audio_stream_end(self) -> None:
        self.sent.append("end")
        self.ended.set()
        self.changed.set()

    async def until(self, condition: Callable[[list[int | str]], bool]) -> None:
        async with asyncio.timeout(10):
            while not condition(self.sent):
                self.changed.clear()
                await self.changed.wait()


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


class GatedDetector:
    """Stands in for the detector: its first call starts an utterance, its second holds
    the worker thread until `gate` opens (a slow end-of-turn inference), its third ends
    the utterance; after that, silence."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.busy = threading.Event()  # the second call is waiting for the gate
        self.quiet = threading.Event()  # a call after the end has run
        self.calls = 0
        self.in_speech = False
        self.cpu_s = 0.0

    def process(self, pcm: bytes) -> list[TurnEvent]:
        self.calls += 1
        if self.calls == 1:
            self.in_speech = True
            return [Started(b"p"), pcm]
        if self.calls == 2:
            self.busy.set()
            self.gate.wait(30)
            return [pcm]
        if self.calls == 3:
            self.in_speech = False
            return [pcm, Ended(96, 0.9)]
        self.quiet.set()
        return []  # silence after the utterance

    def flush(self) -> bool:
        was, self.in_speech = self.in_speech, False
        return was


async def test_an_utterances_audio_reaches_live_while_the_detector_is_busy() -> None:
    # The emulator (and Live) would otherwise get the tail of the utterance in one burst
    # with activityEnd, after the end-of-turn inference, and decode it only then.
    link = Link()
    detector = GatedDetector()
    path = SmartTurn(cast(LiveLink, link), cast(TurnDetector, detector), Metrics(), "t")
    a, b, c, d = (bytes([n]) * 640 for n in range(4))
    try:
        await path.audio(a)
        await link.until(lambda sent: sent == [1, 640])  # the start: preroll, then the audio
        await path.audio(b)
        assert await asyncio.to_thread(detector.busy.wait, 10)  # busy with b from now on
        await path.audio(c)
        await link.until(lambda sent: len(sent) == 4)
        assert link.sent == [1, 640, 640, 640]
        detector.gate.set()
        await link.until(lambda sent: "end" in sent)
        await path.audio(d)
        assert await asyncio.to_thread(detector.quiet.wait, 10)
    finally:
        detector.gate.set()
        await path.close()
    # b and c went through the detector without being sent twice; d, after the end, not.
    assert link.sent == [1, 640, 640, 640, "end"]
