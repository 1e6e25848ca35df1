"""The emulated model's voice: one reply streamed as paced 24 kHz audio and transcripts."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

from . import outbound
from .tts import EspeakVoice, Synthesizer

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


class Speaker:
    """Speaks text as `outputTranscription` plus `modelTurn` audio chunks.

    Audio is paced at real time with a small lead, so an interruption (which cancels the
    task running `say`) stops the output within one chunk.
    """

    def __init__(
        self,
        *,
        synth: Synthesizer,
        voice: EspeakVoice,
        send: Send,
        audio_out: bool,
        transcribe: bool,
        first_audio_delay_s: float = 0.0,
        on_first_audio: Callable[[], None] | None = None,
    ) -> None:
        self._synth = synth
        self._voice = voice
        self._send = send
        self._audio_out = audio_out
        self._transcribe = transcribe
        self._delay = first_audio_delay_s
        self._on_first_audio = on_first_audio

    async def say(self, text: str, timeline: TurnTimeline) -> None:
        if not self._audio_out:
            await self._send(outbound.text_part(text))
            return
        loop = asyncio.get_running_loop()
        for sentence in (s for s in _SENTENCE.split(text.strip()) if s):
            if self._transcribe:
                await self._send(outbound.output_transcription(sentence + " "))
            async for chunk in self._synth.stream(sentence, self._voice):
                if timeline.t0 is None:
                    if self._delay:
                        await asyncio.sleep(self._delay)
                    timeline.t0 = loop.time()
                    if self._on_first_audio:
                        self._on_first_audio()
                ahead = timeline.t0 + timeline.audio_s - LEAD_S - loop.time()
                if ahead > 0:
                    await asyncio.sleep(ahead)
                await self._send(outbound.audio_chunk(chunk))
                timeline.audio_s += len(chunk) / (2 * OUTPUT_RATE)
