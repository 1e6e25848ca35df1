"""Decoding a live-avatar stream (fragmented MP4, reference §14.3) with PyAV, for checks."""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
import numpy.typing as npt

Luma = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Decoded:
    """What a player would get out of the stream."""

    video_codec: str
    profile: str | None
    width: int
    height: int
    frame_pts: list[int]  # in `time_base`
    time_base: Fraction
    lumas: list[Luma]  # each frame's Y plane
    audio_codec: str
    sample_rate: int
    audio_pts: list[int]  # one per decoded audio frame, in 1/sample_rate
    samples: npt.NDArray[np.float32]  # every decoded sample, mono

    def frame_steps(self) -> list[int]:
        """Gaps between consecutive frames, in `time_base` ticks."""
        return [b - a for a, b in zip(self.frame_pts, self.frame_pts[1:], strict=False)]

    def ticks_per_frame(self, fps: int) -> int:
        return round(1 / (fps * self.time_base))


def top_boxes(data: bytes) -> list[bytes]:
    """The kinds of the ISO BMFF boxes `data` is made of (it must end with a whole box)."""
    kinds, pos = [], 0
    while pos + 8 <= len(data):
        kinds.append(data[pos + 4 : pos + 8])
        pos += int.from_bytes(data[pos : pos + 4], "big")
    assert pos == len(data), "boxes end exactly at the end of the chunk"
    return kinds


def decode(stream: bytes) -> Decoded:
    with av.open(io.BytesIO(stream), "r") as container:
        video = container.streams.video[0]
        frames = list(container.decode(video))
        ctx = video.codec_context
        vinfo = (ctx.name, ctx.profile, video.width, video.height, video.time_base)
    with av.open(io.BytesIO(stream), "r") as container:
        audio = container.streams.audio[0]
        sound = list(container.decode(audio))
        ainfo = (audio.codec_context.name, audio.sample_rate)
    assert vinfo[4] is not None
    return Decoded(
        video_codec=vinfo[0],
        profile=vinfo[1],
        width=vinfo[2],
        height=vinfo[3],
        frame_pts=[f.pts or 0 for f in frames],
        time_base=vinfo[4],
        lumas=[np.asarray(f.to_ndarray(), dtype=np.uint8)[: vinfo[3]] for f in frames],
        audio_codec=ainfo[0],
        sample_rate=ainfo[1],
        audio_pts=[f.pts or 0 for f in sound],
        samples=np.concatenate([f.to_ndarray()[0] for f in sound]).astype(np.float32)
        if sound
        else np.zeros(0, dtype=np.float32),
    )
