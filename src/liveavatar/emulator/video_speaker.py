"""The emulated live avatar's voice and face: one reply streamed as fragmented MP4.

The same contract as `Speaker` (transcript per sentence, then the media, paced at real
time), but each `modelTurn` part is `video/mp4` (reference §14.3): the first holds the init
segment, then a fragment (moof + mdat) every half second of speech, the last one when the
spoken text ends. Encoding runs on the session's own worker thread, one job at a time and
in order, so the event loop never encodes and a cancelled job cannot race the next one.
"""

from __future__ import annotations

import asyncio
import math
from concurrent.futures import ThreadPoolExecutor
from contextlib import aclosing
from dataclasses import dataclass
from typing import Unpack

from . import outbound
from .avatar import REASON_BLOCKED, Avatar
from .avatar_encoder import FPS, FRAME_BYTES, AvatarEncoder
from .errors import POLICY, LiveCloseError
from .face import Face
from .speaker import PartSpeaker, TurnTimeline, VoiceArgs

FRAGMENT_FRAMES = 12  # half a second a fragment
# A spoken part's first fragment is shorter, so its first frame waits for less speech.
FIRST_FRAGMENT_FRAMES = 4
# A fragment goes out this long before it is due to play: a player's buffer never runs dry,
# and what an interruption leaves queued at the client stays under a second.
LEAD_S = 0.25
# Frames left empty between segments: the next segment's AAC priming frame (1024 samples
# before its speech) must not overlap the previous segment's last audio.
GAP_FRAMES = 3
# Each spoken part ends with the face at rest this long: a Media Source player stalls a
# little before the end of what it has buffered (Chromium: about 0.16 s) until the next
# turn's media arrives, and what it holds back then is silence, not the last word.
REST_FRAMES = 6
# On avatar sessions `interrupted` and its `turnComplete` come as separate messages about
# 140-150 ms apart (reference §14.3).
INTERRUPTED_TO_TURN_COMPLETE_S = 0.145


@dataclass
class _Segment:
    start: int  # first video frame
    clock0: float  # loop time its first frame is due to play
    frames: int = 0  # frames handed to the encoder so far


def _fragment_bytes(segment: _Segment) -> int:
    frames = FRAGMENT_FRAMES if segment.frames else FIRST_FRAGMENT_FRAMES
    return frames * FRAME_BYTES


class VideoSpeaker(PartSpeaker):
    """Speaks text as `outputTranscription` plus fragmented-MP4 `modelTurn` parts."""

    def __init__(self, *, avatar: Avatar, **args: Unpack[VoiceArgs]) -> None:
        super().__init__(**args)
        self._avatar = avatar
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="avatar-encoder")
        self._encoder: AvatarEncoder | None = None  # touched only on the worker thread
        self._pool.submit(self._encoder_ready)  # warm up while the client gets ready
        self._origin: float | None = None  # loop time of the stream's frame 0
        self._next_frame = 0  # first frame no segment has claimed
        self._init_sent = False

    @property
    def blocked(self) -> bool:
        return self._avatar.blocked

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _encoder_ready(self) -> AvatarEncoder:
        if self._encoder is None:
            avatar = self._avatar
            face = Face(name=avatar.name, photo=avatar.photo)
            self._encoder = AvatarEncoder(
                face, video_bps=avatar.video_bps, audio_bps=avatar.audio_bps
            )
        return self._encoder

    def _encode(self, pcm: bytes, *, begin: int | None, last: bool, init: bool) -> bytes:
        encoder = self._encoder_ready()
        if begin is not None:
            encoder.begin(max(begin, encoder.next_frame))
        data = encoder.encode(pcm, last=last)
        return encoder.init_segment() + data if init else data

    async def say(self, text: str, timeline: TurnTimeline) -> None:
        if self._avatar.blocked:
            # The service refuses a blocked reference image once the avatar would animate.
            raise LiveCloseError(POLICY, REASON_BLOCKED)
        loop = asyncio.get_running_loop()
        segment: _Segment | None = None
        pcm = bytearray()
        async with aclosing(self._speech(text)) as chunks:
            async for chunk in chunks:
                if segment is None:
                    await self._first_audio_delay(timeline)
                    segment = self._begin(loop.time())
                pcm += chunk
                while len(pcm) >= (size := _fragment_bytes(segment)):
                    await self._emit(segment, bytes(pcm[:size]), False, timeline)
                    del pcm[:size]
        if segment is not None:
            pcm += bytes(REST_FRAMES * FRAME_BYTES)
            await self._emit(segment, bytes(pcm), True, timeline)

    def _begin(self, now: float) -> _Segment:
        """A new segment at the current media time, after the previous one's gap: the
        timestamps jump over the silence between turns, as the service's do."""
        if self._origin is None:
            self._origin = now
            start = 0
        else:
            wall = math.ceil((now - self._origin) * FPS)
            start = max(wall, self._next_frame + GAP_FRAMES)
        self._next_frame = start
        return _Segment(start=start, clock0=now)

    async def _emit(self, seg: _Segment, pcm: bytes, last: bool, timeline: TurnTimeline) -> None:
        loop = asyncio.get_running_loop()
        frames = math.ceil(len(pcm) / FRAME_BYTES)
        ahead = seg.clock0 + seg.frames / FPS - LEAD_S - loop.time()
        if ahead > 0:
            await asyncio.sleep(ahead)
        begin = seg.start if seg.frames == 0 else None
        init = not self._init_sent
        seg.frames += frames
        self._next_frame = seg.start + seg.frames  # claimed even if this job is cancelled
        data = await loop.run_in_executor(
            self._pool, lambda: self._encode(pcm, begin=begin, last=last, init=init)
        )
        self._mark_first_audio(timeline, loop.time())
        await self._send(outbound.video_chunk(data))
        self._init_sent = True
        timeline.audio_s += frames / FPS
