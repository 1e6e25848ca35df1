"""The avatar's media: speech PCM in, fragmented MP4 out (H.264 Baseline video of the face
whose mouth follows the speech, AAC-LC voice muxed in).

Blocking and CPU-bound: one encoder per session, driven from one worker thread at a time
(`VideoSpeaker` owns that thread). The encoders come from PyAV's wheels: libx264 (Baseline,
level 3.2, so the codecs string is the service's `avc1.42C020`) and FFmpeg's native AAC.

Timing: one timescale (24 kHz, the speech's sample rate) for both tracks; a video frame is
1000 ticks at 24 fps. Each spoken segment (one `say`) starts on a frame boundary given by
the caller, its first frame an IDR frame, and gets a fresh AAC encoder that is flushed at
its end, so a segment is complete when its last fragment goes out and the next one may
start after any gap, as the service's fragments jump over the silence between turns.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import av
import numpy as np
import numpy.typing as npt
from av.codec.context import Flags
from av.video.frame import PictureType

from .face import HEIGHT, WIDTH, Face
from .fmp4 import (
    AUDIO_TRACK,
    VIDEO_TRACK,
    Run,
    Sample,
    StreamFormat,
    fragment,
    init_segment,
    length_prefixed,
    split_annexb,
)

FPS = 24
SAMPLE_RATE = 24_000
TIMESCALE = SAMPLE_RATE
FRAME_TICKS = TIMESCALE // FPS  # samples of speech per video frame
FRAME_BYTES = FRAME_TICKS * 2  # PCM16 mono
AAC_FRAME = 1024
DEFAULT_AUDIO_BPS = 64_000
# The bitrates a setup may ask for are kept within what the encoders take well.
AUDIO_BPS_RANGE = (16_000, 256_000)
VIDEO_BPS_RANGE = (50_000, 8_000_000)
_BLINK_EVERY = 84  # frames (3.5 s)
_BLINK_FRAMES = 3
# Mouth opening from loudness: silent below -42 dBFS, wide open at -18 dBFS; it opens at
# once and closes over a few frames, as a mouth does.
_QUIET_DB, _LOUD_DB, _CLOSE_RATE = -42.0, -18.0, 0.55

Samples = npt.NDArray[np.float32]


def opening_for(pcm: npt.NDArray[np.int16]) -> float:
    """How far one frame's worth of speech opens the mouth (0 to 1), from its RMS level."""
    if pcm.size == 0:
        return 0.0
    rms = float(np.sqrt(np.mean(np.square(pcm.astype(np.float32) / 32768.0))))
    db = 20 * math.log10(max(rms, 1e-6))
    return min(1.0, max(0.0, (db - _QUIET_DB) / (_LOUD_DB - _QUIET_DB)))


def _clamp(value: int, bounds: tuple[int, int]) -> int:
    return min(bounds[1], max(bounds[0], value))


class AvatarEncoder:
    """Turns speech into fMP4: `init_segment()` once, then per segment `begin(frame)` and
    `encode(pcm, last=...)` calls, each returning one fragment (moof + mdat)."""

    def __init__(
        self, face: Face, *, video_bps: int | None = None, audio_bps: int | None = None
    ) -> None:
        self._face = face
        self._audio_bps = _clamp(audio_bps or DEFAULT_AUDIO_BPS, AUDIO_BPS_RANGE)
        video = av.CodecContext.create("libx264", "w")
        assert isinstance(video, av.VideoCodecContext)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        video.time_base, video.framerate = Fraction(1, FPS), Fraction(FPS)
        video.flags |= Flags.global_header  # SPS/PPS once, for avcC, not in every IDR
        video.thread_count = 1  # predictable CPU on a shared machine; a frame takes ~2 ms
        options = {
            "preset": "ultrafast",
            "tune": "zerolatency",  # no lookahead or B-frames: a frame in, a packet out
            "profile": "baseline",
            "level": "3.2",
            "forced-idr": "1",
            "x264-params": "keyint=240:scenecut=0",
        }
        if video_bps:
            video.bit_rate = _clamp(video_bps, VIDEO_BPS_RANGE)
        else:
            options["crf"] = "26"
        video.options = options
        video.open()
        self._video = video
        units = split_annexb(bytes(video.extradata or b""))
        sps = next(u for u in units if u[0] & 0x1F == 7)
        pps = next(u for u in units if u[0] & 0x1F == 8)
        self._aac = self._open_aac()
        self.format = StreamFormat(
            width=WIDTH,
            height=HEIGHT,
            timescale=TIMESCALE,
            sps=sps,
            pps=pps,
            sample_rate=SAMPLE_RATE,
            channels=1,
            # The 2-byte AudioSpecificConfig; FFmpeg appends an explicit "no SBR" extension.
            audio_config=bytes(self._aac.extradata or b"")[:2],
            avg_bitrate=self._audio_bps,
        )
        self._sequence = 0
        self._frame = 0  # next video frame index (in frames since the stream's origin)
        self._audio_pts = 0  # next AAC input frame's time, in ticks
        self._pending: Samples = np.zeros(0, dtype=np.float32)
        self._opening = 0.0
        self._segment_start = True

    def _open_aac(self) -> av.AudioCodecContext:
        aac = av.CodecContext.create("aac", "w")
        assert isinstance(aac, av.AudioCodecContext)
        aac.sample_rate, aac.layout, aac.format = SAMPLE_RATE, "mono", "fltp"
        aac.bit_rate = self._audio_bps
        aac.time_base = Fraction(1, SAMPLE_RATE)
        aac.open()
        return aac

    def init_segment(self) -> bytes:
        return init_segment(self.format)

    @property
    def next_frame(self) -> int:
        return self._frame

    def begin(self, frame: int) -> None:
        """Start a segment at video frame `frame` (at least `next_frame`)."""
        if frame < self._frame:
            raise ValueError("segments must not overlap")
        self._frame = frame
        self._audio_pts = frame * FRAME_TICKS
        self._aac = self._open_aac()
        self._pending = np.zeros(0, dtype=np.float32)
        self._opening = 0.0
        self._segment_start = True

    def encode(self, pcm: bytes, *, last: bool) -> bytes:
        """One fragment for `pcm` (24 kHz PCM16, whole video frames unless `last`, when it
        is padded with silence to the next frame); `last` also drains the AAC encoder."""
        speech = np.frombuffer(pcm[: len(pcm) & ~1], dtype=np.int16)
        if last and speech.size % FRAME_TICKS:
            pad = FRAME_TICKS - speech.size % FRAME_TICKS
            speech = np.concatenate([speech, np.zeros(pad, dtype=np.int16)])
        if speech.size % FRAME_TICKS:
            raise ValueError("pcm must hold whole video frames")
        video = self._encode_video(speech)
        audio = self._encode_audio(speech, last=last)
        self._sequence += 1
        return fragment(self._sequence, [video, audio])

    def _encode_video(self, speech: npt.NDArray[np.int16]) -> Run:
        start = self._frame
        samples: list[Sample] = []
        for i in range(speech.size // FRAME_TICKS):
            target = opening_for(speech[i * FRAME_TICKS : (i + 1) * FRAME_TICKS])
            self._opening = max(target, self._opening * _CLOSE_RATE)
            blink = self._frame % _BLINK_EVERY < _BLINK_FRAMES
            picture = av.VideoFrame.from_ndarray(
                self._face.frame(self._opening, blink), format="yuv420p"
            )
            picture.pts = self._frame
            if i == 0:
                # Each fragment starts a GOP: a player may start, or resume after a cut, at
                # any fragment.
                picture.pict_type = PictureType.I
            for packet in self._video.encode(picture):
                samples.append(
                    Sample(length_prefixed(bytes(packet)), FRAME_TICKS, sync=packet.is_keyframe)
                )
            self._frame += 1
        return Run(VIDEO_TRACK, start * FRAME_TICKS, samples)

    def _encode_audio(self, speech: npt.NDArray[np.int16], *, last: bool) -> Run:
        pending = np.concatenate([self._pending, speech.astype(np.float32) / 32768.0])
        if last and pending.size % AAC_FRAME:
            pending = np.concatenate(
                [pending, np.zeros(AAC_FRAME - pending.size % AAC_FRAME, dtype=np.float32)]
            )
        packets: list[av.Packet[Any]] = []
        whole = pending.size - pending.size % AAC_FRAME
        for offset in range(0, whole, AAC_FRAME):
            chunk = av.AudioFrame.from_ndarray(
                pending[None, offset : offset + AAC_FRAME], format="fltp", layout="mono"
            )
            chunk.sample_rate = SAMPLE_RATE
            chunk.pts = self._audio_pts
            self._audio_pts += AAC_FRAME
            packets.extend(self._aac.encode(chunk))
        self._pending = pending[whole:]
        if last:
            packets.extend(self._aac.encode(None))
        # A segment's first packet is the encoder's priming frame, 1024 samples before the
        # speech starts; it keeps its place (in the gap before the segment), so the voice
        # stays in step with the face. Only before the stream's start is there no place.
        packets = [p for p in packets if p.pts is not None and p.pts >= 0]
        if not packets:
            return Run(AUDIO_TRACK, 0, [])
        first = packets[0].pts
        assert first is not None
        return Run(AUDIO_TRACK, first, [Sample(bytes(p), AAC_FRAME) for p in packets])
