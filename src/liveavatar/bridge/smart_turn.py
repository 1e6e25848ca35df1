"""The microphone's way to Live: straight through (`turn_detection: server`, Live's own
detector decides), or through our end-of-turn detector (`smart`), which drives Live's
manual activity mode.

With `smart`, only the user's utterances go to Live: `activityStart` with the first audio
of each (the Live clients send it, `live/utterance.py`; it also interrupts a reply, the
barge-in), `activityEnd` when the detector says the user has finished or the microphone
goes off. The detector's CPU work (Silero VAD per 32 ms, the smart-turn model at each
pause) runs in one bounded pool of worker threads shared by every session, never on the
event loop; each session has at most one call there at a time (whatever audio queued
meanwhile), so its audio stays in order and a slow pool slows that session, not the
others' replies.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from liveavatar.live.link import LiveLink
from liveavatar.live.persona import Persona
from liveavatar.metrics import Metrics
from liveavatar.turn import models
from liveavatar.turn.detector import Ended, Started, TurnDetector

logger = logging.getLogger(__name__)

# onnxruntime releases the GIL: one thread per core runs the models in parallel.
POOL_WORKERS = max(2, os.cpu_count() or 2)
BYTES_PER_S = 32_000  # 16 kHz PCM16
MAX_BEHIND_BYTES = 2 * BYTES_PER_S  # queued for the detector before the reader waits
_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def pool() -> ThreadPoolExecutor:
    """The process's worker pool for turn detection, made on first use."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(POOL_WORKERS, thread_name_prefix="smart-turn")
        return _pool


class MicPath(Protocol):
    """Where the browser reader sends microphone audio and the mic-off signal; `close`
    when the reader stops."""

    async def audio(self, pcm: bytes) -> None: ...
    async def end(self) -> None: ...
    async def close(self) -> None: ...


class Direct:
    """`turn_detection: server`: every chunk to Live, whose detector decides."""

    def __init__(self, link: LiveLink) -> None:
        self._link = link

    async def audio(self, pcm: bytes) -> None:
        await self._link.send_audio(pcm)

    async def end(self) -> None:
        await self._link.audio_stream_end()

    async def close(self) -> None:
        return None


class SmartTurn:
    """`turn_detection: smart`: utterances to Live, bracketed by our detector.

    The reader only queues: one task (owned here, ended by `close`) runs whatever has
    queued in one pool call, so a session that fell behind (a busy machine) catches up in
    one hop instead of one per chunk. Past `MAX_BEHIND_BYTES` waiting, the reader waits.

    Inside an utterance, once the detector has caught up, the reader also sends each chunk
    to Live as it comes (`_forwarding`), before the detector has seen it: the end-of-turn
    inference holds a pool call for 50–400 ms, and the utterance's tail would otherwise
    reach Live in one burst with `activityEnd`, to be decoded only then
    (docs/PERFORMANCE.md). What the detector later returns for those chunks is not sent
    again; the silence it has not yet judged goes to Live inside the activity, as a
    client streaming its microphone would send it.
    """

    def __init__(self, link: LiveLink, detector: TurnDetector, metrics: Metrics, name: str) -> None:
        self._link = link
        self.detector = detector
        self._metrics = metrics
        self._name = name
        self._loop = asyncio.get_running_loop()
        # (chunk, already sent to Live); None: the microphone went off
        self._queued: list[tuple[bytes, bool] | None] = []
        self._queued_bytes = 0
        self._queued_at: float | None = None  # when the oldest queued chunk came (timing)
        self._task: asyncio.Task[None] | None = None
        self._forwarding = False  # in an utterance, nothing queued before: send on arrival

    async def audio(self, pcm: bytes) -> None:
        if self._queued_at is None:
            self._queued_at = time.monotonic()
        sent = self._forwarding
        if sent:
            await self._link.send_audio(pcm)
        self._queued.append((pcm, sent))
        self._queued_bytes += len(pcm)
        task = self._run()
        while self._queued_bytes > MAX_BEHIND_BYTES and not task.done():
            await asyncio.wait([task])  # not cancelled with the reader: `close` ends it

    async def end(self) -> None:
        """The microphone went off (push-to-talk released): the utterance ends now."""
        self._forwarding = False
        self._queued.append(None)
        self._run()

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.wait([self._task])

    def _run(self) -> asyncio.Task[None]:
        task = self._task
        if task is not None and task.done() and not task.cancelled():
            task.result()  # a failure reaches the reader, and so the session
        if task is None or task.done():
            task = self._task = self._loop.create_task(self._drain(), name=f"{self._name}-turn")
        return task

    async def _drain(self) -> None:
        while self._queued:
            batch, self._queued, self._queued_bytes = self._queued, [], 0
            queued_at, self._queued_at = self._queued_at, None
            # Runs of chunks alike (sent on arrival or not), one pool call each.
            audio, sent = bytearray(), False
            for item in batch:
                if audio and (item is None or item[1] != sent):
                    await self._process(bytes(audio), sent, queued_at)
                    audio.clear()
                if item is not None:
                    audio += item[0]
                    sent = item[1]
                    continue
                self._forwarding = False
                if self.detector.flush():
                    self._metrics.smart_turn_ends.labels("mic_off").inc()
                await self._link.audio_stream_end()
            if audio:
                await self._process(bytes(audio), sent, queued_at)
            # Only with nothing left to judge: a chunk sent now must not pass one queued.
            self._forwarding = self.detector.in_speech and not self._queued

    async def _process(self, pcm: bytes, sent: bool, queued_at: float | None) -> None:
        """Run `pcm` through the detector and send on what it returns; `sent`: the audio
        already went to Live as it came, so only its start and end are left to send."""
        cpu_before = self.detector.cpu_s
        submitted = time.monotonic()
        events = await self._loop.run_in_executor(pool(), self.detector.process, pcm)
        returned = time.monotonic()
        self._metrics.smart_turn_cpu.inc(self.detector.cpu_s - cpu_before)
        self._metrics.smart_turn_audio.inc(len(pcm) / BYTES_PER_S)
        for event in events:
            if isinstance(event, Started):
                sent = False
                await self._link.send_audio(event.preroll)
            elif isinstance(event, Ended):
                sent = False  # what follows (a new utterance's audio) was not in it
                self._forwarding = False  # before the await: nothing after activityEnd
                by = "max_silence" if event.probability is None else "model"
                self._metrics.smart_turn_ends.labels(by).inc()
                await self._link.audio_stream_end()
                # Where the time between the verdict and Live goes (docs/PERFORMANCE.md):
                # the oldest audio of this batch waited `queued_ms` in all, of which
                # `pool_ms` in the worker pool; then `send_ms` to send activityEnd.
                logger.debug(
                    "smart turn ended",
                    extra={
                        "timing": "activity_end_sent",
                        "t_mono": time.monotonic(),
                        "silence_ms": event.silence_ms,
                        "probability": event.probability,
                        "queued_ms": _ms_since(queued_at, returned),
                        "pool_ms": round((returned - submitted) * 1000, 1),
                        "send_ms": round((time.monotonic() - returned) * 1000, 1),
                        "batch_ms": len(pcm) * 1000 // BYTES_PER_S,
                    },
                )
            elif not sent:
                await self._link.send_audio(event)


def _ms_since(start: float | None, end: float) -> float | None:
    return None if start is None else round((end - start) * 1000, 1)


async def mic_path(persona: Persona, link: LiveLink, metrics: Metrics, name: str) -> MicPath:
    """The path for `persona`'s turn detection.

    Raises:
        TurnDetectionUnavailable: `smart`, and its model files are not installed.
    """
    if persona.turn_detection != "smart":
        return Direct(link)
    loaded = await asyncio.get_running_loop().run_in_executor(pool(), models.shared)
    return SmartTurn(link, TurnDetector(loaded, persona.smart_turn), metrics, name)
