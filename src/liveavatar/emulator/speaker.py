"""The emulated model's voice: one reply streamed as paced 24 kHz audio and transcripts."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from typing import Any, NotRequired, TypedDict, Unpack

from . import outbound
from .tts import EspeakVoice, Synthesizer

logger = logging.getLogger(__name__)

OUTPUT_RATE = 24_000
# How far audio may run ahead of real time: enough for a client's jitter buffer to start
# at once, small enough that an interrupted reply leaves little queued at the client.
LEAD_S = 0.06
_SENTENCE = re.compile(r"(?<=[.!?])\s+")

Send = Callable[[dict[str, Any] | str], Awaitable[None]]


class TurnTimeline:
    """Real-time pacing for one model turn, which may hold several spoken parts.

    `t0` is when the first audio chunk went out; `audio_s` is the audio sent since.
    """

    def __init__(self) -> None:
        self.t0: float | None = None
        self.audio_s = 0.0

    def playback_left(self, now: float) -> float:
        """Seconds until the client would finish playing what was sent."""
        return 0.0 if self.t0 is None else max(0.0, self.t0 + self.audio_s - now)


def _sentences(text: str) -> list[str]:
    """A reply's sentences, each transcribed just before it is spoken."""
    return [s for s in _SENTENCE.split(text.strip()) if s]


class VoiceArgs(TypedDict):
    """What every voice is made with (`voice.py`)."""

    synth: Synthesizer
    voice: EspeakVoice
    send: Send
    transcribe: bool
    first_audio_delay_s: NotRequired[float]
    on_first_audio: NotRequired[Callable[[], None] | None]


class PartSpeaker:
    """What both voices share: one spoken part, sentence by sentence (each transcript sent
    before its speech), and the turn's first audio, after the configured delay, marked on
    the turn's timeline with `on_first_audio` called once."""

    def __init__(self, **args: Unpack[VoiceArgs]) -> None:
        self._synth = args["synth"]
        self._voice = args["voice"]
        self._send = args["send"]
        self._transcribe = args["transcribe"]
        self._delay = args.get("first_audio_delay_s", 0.0)
        self._on_first_audio = args.get("on_first_audio")

    async def _speech(self, text: str) -> AsyncGenerator[bytes, None]:
        """`text`'s 24 kHz PCM, sentence by sentence, each after its transcript."""
        for sentence in _sentences(text):
            if self._transcribe:
                await self._send(outbound.output_transcription(sentence + " "))
            async with aclosing(self._synth.stream(sentence, self._voice)) as chunks:
                async for chunk in chunks:
                    yield chunk

    async def _first_audio_delay(self, timeline: TurnTimeline) -> None:
        """The injected delay before a turn's first audio (faults); none after it."""
        if timeline.t0 is None and self._delay:
            await asyncio.sleep(self._delay)

    def _mark_first_audio(self, timeline: TurnTimeline, now: float) -> None:
        """Media goes out now: the turn's first starts its clock and is announced."""
        if timeline.t0 is None:
            timeline.t0 = now
            logger.debug("turn timing", extra={"timing": "first_audio", "t_mono": time.monotonic()})
            if self._on_first_audio:
                self._on_first_audio()


class Speaker(PartSpeaker):
    """Speaks text as `outputTranscription` plus `modelTurn` audio chunks.

    Audio is paced at real time with a small lead, so an interruption (which cancels the
    task running `say`) stops the output within one chunk.
    """

    def __init__(self, *, audio_out: bool, **args: Unpack[VoiceArgs]) -> None:
        super().__init__(**args)
        self._audio_out = audio_out

    async def say(self, text: str, timeline: TurnTimeline) -> None:
        if not self._audio_out:
            await self._send(outbound.text_part(text))
            return
        loop = asyncio.get_running_loop()
        async with aclosing(self._speech(text)) as chunks:
            async for chunk in chunks:
                if timeline.t0 is None:
                    await self._first_audio_delay(timeline)
                    self._mark_first_audio(timeline, loop.time())
                assert timeline.t0 is not None
                ahead = timeline.t0 + timeline.audio_s - LEAD_S - loop.time()
                if ahead > 0:
                    await asyncio.sleep(ahead)
                await self._send(outbound.audio_chunk(chunk))
                timeline.audio_s += len(chunk) / (2 * OUTPUT_RATE)
