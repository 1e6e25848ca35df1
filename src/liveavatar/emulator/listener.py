"""The emulated model's ears: activity detection and streaming transcription of user audio."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from liveavatar.audio.pcm import Resampler

from .biaslm import Phrases
from .stt import RecognizerPool
from .transcriber import StreamingTranscriber
from .vad import SpeechEnded, SpeechStarted, StreamingVad, VadConfig
from .wire import Setup

logger = logging.getLogger(__name__)

INPUT_RATE = 16_000
# Gemini does not document its default silence duration; these keep end-of-speech snappy.
_DEFAULT_SILENCE_MS = {"HIGH": 300, "LOW": 600}
_QUEUE_ITEMS = 1000  # 20 s of 20 ms chunks; the reader waits when recognition lags further


@dataclass(frozen=True)
class _Start:
    preroll: bytes


@dataclass(frozen=True)
class _End:
    pass


_Item = _Start | _End | bytes


class Listener:
    """Detects user activity in 16 kHz audio and transcribes each utterance as it goes.

    The reader calls `audio`, `activity_start`, `activity_end` and `stream_end` in arrival
    order; the cheap VAD runs inline so barge-in is signalled within one chunk, while
    recognition runs in the `run` task, off the event loop in a worker thread.

    Callbacks: `on_activity_start()` as soon as user activity starts, `on_words(text)`
    for each newly recognised fragment, `on_utterance(text, audio_seconds)` at its end.
    """

    def __init__(
        self,
        *,
        pool: RecognizerPool,
        phrases: Phrases,
        vad_config: VadConfig | None,
        on_activity_start: Callable[[], Awaitable[None]],
        on_words: Callable[[str], Awaitable[None]],
        on_utterance: Callable[[str, float], Awaitable[None]],
    ) -> None:
        self._pool = pool
        self.phrases = phrases
        self._vad = StreamingVad(vad_config) if vad_config else None
        self._on_activity_start = on_activity_start
        self._on_words = on_words
        self._on_utterance = on_utterance
        self._queue: asyncio.Queue[_Item] = asyncio.Queue(_QUEUE_ITEMS)
        self._manual_active = False
        self._resamplers: dict[int, Resampler] = {}

    @property
    def automatic(self) -> bool:
        return self._vad is not None

    async def audio(self, pcm: bytes, rate: int = INPUT_RATE) -> None:
        if rate != INPUT_RATE:
            rs = self._resamplers.get(rate)
            if rs is None:
                rs = self._resamplers[rate] = Resampler(rate, INPUT_RATE)
            pcm = rs.process(pcm)
        if self._vad is None:
            if self._manual_active:
                await self._queue.put(pcm)
            return
        for event in self._vad.process(pcm):
            if isinstance(event, SpeechStarted):
                await self._on_activity_start()
                await self._queue.put(_Start(event.preroll))
            elif isinstance(event, SpeechEnded):
                _timing("vad_end")
                await self._queue.put(_End())
            else:
                await self._queue.put(event)

    async def activity_start(self) -> None:
        if self._manual_active:
            return
        self._manual_active = True
        await self._on_activity_start()
        await self._queue.put(_Start(b""))

    async def activity_end(self) -> None:
        if self._manual_active:
            self._manual_active = False
            _timing("activity_end_received")
            await self._queue.put(_End())

    async def stream_end(self) -> None:
        """`audioStreamEnd`: the mic went off, so an utterance in progress ends now."""
        if self._vad is not None:
            for _ in self._vad.flush():
                await self._queue.put(_End())

    async def run(self) -> None:
        transcriber: StreamingTranscriber | None = None
        audio_bytes = 0
        pending: _Item | None = None
        try:
            while True:
                item = pending if pending is not None else await self._queue.get()
                pending = None
                if isinstance(item, _Start):
                    if transcriber is not None:
                        transcriber.close()
                    transcriber = await asyncio.to_thread(self._pool.transcriber, self.phrases)
                    audio_bytes = 0
                    item = item.preroll
                if isinstance(item, bytes):
                    if transcriber is None or not item:
                        continue
                    # Batch what queued up meanwhile: one thread hop per batch, not per chunk.
                    batch = [item]
                    while pending is None and not self._queue.empty():
                        nxt = self._queue.get_nowait()
                        if isinstance(nxt, bytes):
                            batch.append(nxt)
                        else:
                            pending = nxt
                    pcm = b"".join(batch)
                    audio_bytes += len(pcm)
                    update = await asyncio.to_thread(transcriber.feed, pcm)
                    if update.words:
                        await self._on_words(" ".join(update.words))
                    continue
                if transcriber is None:
                    continue
                current, transcriber = transcriber, None
                started = time.monotonic()
                try:
                    rest, text = await asyncio.to_thread(current.finish)
                finally:
                    current.close()
                _timing("final_transcript", finish_ms=round((time.monotonic() - started) * 1000, 1))
                if rest.words:
                    await self._on_words(" ".join(rest.words))
                await self._on_utterance(text, audio_bytes / (2 * INPUT_RATE))
        finally:
            if transcriber is not None:
                transcriber.close()


def _timing(stage: str, **fields: float) -> None:
    """A debug mark on the way from the end of the user's speech to the reply, monotonic
    clock (docs/PERFORMANCE.md, smart turn detection)."""
    logger.debug("turn timing", extra={"timing": stage, "t_mono": time.monotonic(), **fields})


def vad_config_for(setup: Setup) -> VadConfig | None:
    """The VAD settings a setup asks for, or None when the client marks activity itself."""
    ric = setup.realtime_input_config
    aad = ric.automatic_activity_detection if ric else None
    if aad is not None and aad.disabled:
        return None
    start: Literal["HIGH", "LOW"] = (
        "LOW" if aad and (aad.start_of_speech_sensitivity or "").endswith("LOW") else "HIGH"
    )
    end: Literal["HIGH", "LOW"] = (
        "LOW" if aad and (aad.end_of_speech_sensitivity or "").endswith("LOW") else "HIGH"
    )
    silence = aad.silence_duration_ms if aad and aad.silence_duration_ms else None
    return VadConfig(
        start_sensitivity=start,
        end_sensitivity=end,
        prefix_padding_ms=(aad.prefix_padding_ms if aad and aad.prefix_padding_ms else 20),
        silence_duration_ms=silence or _DEFAULT_SILENCE_MS[end],
    )
