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
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from liveavatar.live.link import LiveLink
from liveavatar.live.persona import Persona
from liveavatar.metrics import Metrics
from liveavatar.turn import models
from liveavatar.turn.detector import Ended, Started, TurnDetector

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
    """

    def __init__(self, link: LiveLink, detector: TurnDetector, metrics: Metrics, name: str) -> None:
        self._link = link
        self.detector = detector
        self._metrics = metrics
        self._name = name
        self._loop = asyncio.get_running_loop()
        self._queued: list[bytes | None] = []  # None: the microphone went off
        self._queued_bytes = 0
        self._task: asyncio.Task[None] | None = None

    async def audio(self, pcm: bytes) -> None:
        self._queued.append(pcm)
        self._queued_bytes += len(pcm)
        task = self._run()
        while self._queued_bytes > MAX_BEHIND_BYTES and not task.done():
            await asyncio.wait([task])  # not cancelled with the reader: `close` ends it

    async def end(self) -> None:
        """The microphone went off (push-to-talk released): the utterance ends now."""
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
            audio = bytearray()
            for item in batch:
                if item is not None:
                    audio += item
                    continue
                if audio:
                    await self._process(bytes(audio))
                    audio.clear()
                if self.detector.flush():
                    self._metrics.smart_turn_ends.labels("mic_off").inc()
                await self._link.audio_stream_end()
            if audio:
                await self._process(bytes(audio))

    async def _process(self, pcm: bytes) -> None:
        cpu_before = self.detector.cpu_s
        events = await self._loop.run_in_executor(pool(), self.detector.process, pcm)
        self._metrics.smart_turn_cpu.inc(self.detector.cpu_s - cpu_before)
        self._metrics.smart_turn_audio.inc(len(pcm) / BYTES_PER_S)
        for event in events:
            if isinstance(event, Started):
                await self._link.send_audio(event.preroll)
            elif isinstance(event, Ended):
                by = "max_silence" if event.probability is None else "model"
                self._metrics.smart_turn_ends.labels(by).inc()
                await self._link.audio_stream_end()
            else:
                await self._link.send_audio(event)


async def mic_path(persona: Persona, link: LiveLink, metrics: Metrics, name: str) -> MicPath:
    """The path for `persona`'s turn detection.

    Raises:
        TurnDetectionUnavailable: `smart`, and its model files are not installed.
    """
    if persona.turn_detection != "smart":
        return Direct(link)
    loaded = await asyncio.get_running_loop().run_in_executor(pool(), models.shared)
    return SmartTurn(link, TurnDetector(loaded, persona.smart_turn), metrics, name)
