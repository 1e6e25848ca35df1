"""One session part recorded to the media store, off the audio path.

The bridge hands each microphone frame, each chunk of the model's voice and each
interruption to `SessionRecording` without waiting: they go into a queue bounded by bytes,
and when it is full they are dropped (counted, logged once), never the audio itself. The
recording's own task takes the queue every `TICK_S`, mixes and encodes it in a worker
thread (`mixer.py`, `encoder.py`) and appends the new Ogg pages to the object every
`FLUSH_S`, so a crash of the backend loses only the last few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from functools import cache

from liveavatar.live.events import AudioOut, Interrupted, LinkEvent
from liveavatar.media import MediaStore
from liveavatar.media.recordings import RECORDING_CONTENT_TYPE

from .encoder import OpusStreamEncoder
from .mixer import StereoMixer

logger = logging.getLogger(__name__)

TICK_S = 0.5
FLUSH_S = 2.0
# About 20 s of both sides' audio: what may wait while the worker or the store is slow.
QUEUE_BYTES = 24_000 * 2 * 2 * 20
# Encoded bytes kept while the store refuses appends (about 8 minutes at 32 kbit/s).
PENDING_CAP_BYTES = 2_000_000
APPEND_TIMEOUT_S = 10.0
FINISH_TIMEOUT_S = 3.0


class _Kind(Enum):
    MIC = 1
    MODEL = 2
    INTERRUPT = 3


@cache
def _executor() -> ThreadPoolExecutor:
    # Apart from the default pool, so that encoding many sessions never queues the
    # backend's other blocking calls. One thread: the mixing and muxing hold the GIL, and
    # every extra thread wanting it is one more the event loop may wait behind (side by
    # side in bench.proxy, one thread added less latency than one per core); at under 1 %
    # of a core per recorded session, one thread keeps up with a hundred sessions.
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="recording")


@dataclass
class RecordingStats:
    """What one recording did and lost."""

    seconds: float = 0.0  # audio written
    bytes: int = 0  # bytes appended to the object
    appends: int = 0
    dropped_events: int = 0  # pieces dropped because the queue was full
    dropped_bytes: int = 0  # encoded bytes given up after the store kept failing
    failed_appends: int = 0


class SessionRecording:
    """Records one session part as `name` (see media/recordings.py) in `media`.

    `started` is the event loop time the recording's timeline starts at; every `now`
    given later is on the same clock.
    """

    def __init__(
        self,
        media: MediaStore,
        name: str,
        *,
        started: float,
        mic_rate: int,
        model_rate: int,
        rate: int = 24_000,
        label: str = "recording",
    ) -> None:
        self._media = media
        self._name = name
        self._t0 = started
        self._label = label
        self._mixer = StereoMixer(rate=rate, mic_rate=mic_rate, model_rate=model_rate)
        self._encoder = OpusStreamEncoder(rate)
        self._queue: deque[tuple[_Kind, float, bytes]] = deque()
        self._queued_bytes = 0
        self._pending = bytearray()
        self._stop = asyncio.Event()
        self._ended_at: float | None = None
        self._task: asyncio.Task[None] | None = None
        self._broken = False
        self._said: set[str] = set()
        self.stats = RecordingStats()

    # ---- the bridge's side: never waits -----------------------------------------------

    def mic(self, pcm: bytes, now: float) -> None:
        """A microphone frame as it went to Live."""
        self._put(_Kind.MIC, now, pcm)

    def live_event(self, event: LinkEvent, now: float) -> None:
        """What of Live's events the recording needs: the model's voice, interruptions."""
        if isinstance(event, AudioOut):
            self._put(_Kind.MODEL, now, event.pcm)
        elif isinstance(event, Interrupted):
            self._put(_Kind.INTERRUPT, now, b"")

    def _put(self, kind: _Kind, now: float, data: bytes) -> None:
        if self._broken or self._stop.is_set():
            return
        if self._queued_bytes + len(data) > QUEUE_BYTES:
            self.stats.dropped_events += 1
            self._say_once("behind", "recording fell behind; dropping its audio")
            return
        self._queue.append((kind, now - self._t0, data))
        self._queued_bytes += len(data)

    # ---- the recording's own task -----------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"{self._label}-recording")

    async def finish(self, now: float) -> None:
        """End the recording at `now`: what is queued is encoded and the stream closed and
        stored, within FINISH_TIMEOUT_S (after which the tail is given up, logged)."""
        if self._task is None or self._stop.is_set():
            return
        self._ended_at = now
        self._stop.set()
        done, _ = await asyncio.wait({self._task}, timeout=FINISH_TIMEOUT_S)
        if not done:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            logger.error("recording not finished in time; its last seconds are lost")
        elif not self._task.cancelled() and (exc := self._task.exception()) is not None:
            logger.error("recording failed", exc_info=exc)
        logger.info(
            "recording finished",
            extra={
                "recorded_s": round(self.stats.seconds, 2),
                "bytes": self.stats.bytes,
                "dropped_events": self.stats.dropped_events,
                "dropped_bytes": self.stats.dropped_bytes,
                "model_over_cap_s": round(self._mixer.stats.model_over_cap_s, 2),
            },
        )

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_flush = loop.time() + FLUSH_S
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), TICK_S)
            if self._stop.is_set():
                break
            now = loop.time()
            await self._encode(now - self._t0, final=False)
            if now >= next_flush:
                next_flush = now + FLUSH_S
                await self._flush()
        end = self._ended_at if self._ended_at is not None else loop.time()
        await self._encode(end - self._t0, final=True)
        await self._flush()

    async def _encode(self, t: float, *, final: bool) -> None:
        if self._broken:
            return
        batch = list(self._queue)
        self._queue.clear()
        self._queued_bytes = 0
        loop = asyncio.get_running_loop()
        try:
            data = await loop.run_in_executor(_executor(), self._work, batch, t, final)
        except Exception:
            self._broken = True  # an encoder that failed once cannot go on with the stream
            logger.exception("recording stopped: encoding failed")
            return
        self._pending += data

    def _work(self, batch: list[tuple[_Kind, float, bytes]], t: float, final: bool) -> bytes:
        """In the worker thread: lay the batch on the timeline, encode what is final."""
        mixer = self._mixer
        for kind, at, data in batch:
            if kind is _Kind.MIC:
                mixer.mic(at, data)
            elif kind is _Kind.MODEL:
                mixer.model(at, data)
            else:
                mixer.interrupt(at)
        frames = mixer.finish(t) if final else mixer.take(t)
        self.stats.seconds += len(frames) / mixer.rate
        out = self._encoder.encode(frames)
        return out + self._encoder.close() if final else out

    async def _flush(self) -> None:
        if not self._pending:
            return
        data = bytes(self._pending)
        try:
            async with asyncio.timeout(APPEND_TIMEOUT_S):
                await self._media.append(self._name, data, RECORDING_CONTENT_TYPE)
        except Exception as exc:
            self.stats.failed_appends += 1
            self._say_once("store", f"recording not stored yet: {type(exc).__name__}")
            if len(self._pending) > PENDING_CAP_BYTES:
                self.stats.dropped_bytes += len(self._pending)
                self._pending.clear()
            return
        del self._pending[: len(data)]
        self.stats.bytes += len(data)
        self.stats.appends += 1

    def _say_once(self, key: str, message: str) -> None:
        if key not in self._said:
            self._said.add(key)
            logger.warning(message)
