"""Decoding a live-avatar stream (fragmented MP4, reference §14.3) with PyAV, for checks."""

from __future__ import annotations

import asyncio
import base64
import io
import json
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
import numpy as np
import numpy.typing as npt
from websockets.asyncio.client import connect

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


VERTEX_PATH = "/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent"
AVATAR_MODEL = "projects/p/locations/us-central1/publishers/google/models/gemini-3.8-live"


def media_chunks(messages: list[dict[str, Any]]) -> list[bytes]:
    """The fMP4 bytes of every `video/mp4` part, in order."""
    out = []
    for m in messages:
        for part in m.get("serverContent", {}).get("modelTurn", {}).get("parts", []):
            if "inlineData" in part:
                assert part["inlineData"]["mimeType"] == "video/mp4"
                out.append(base64.b64decode(part["inlineData"]["data"]))
    return out


async def avatar_replies(ws_url: str, questions: list[str], avatar: str = "Kira") -> list[bytes]:
    """Ask a plain-ws emulator each typed question in an avatar session; the media chunks
    of all the replies, in order."""
    setup = {
        "model": AVATAR_MODEL,
        "generationConfig": {"responseModalities": ["VIDEO"]},
        "avatarConfig": {"avatarName": avatar},
    }
    chunks: list[bytes] = []
    async with connect(ws_url + VERTEX_PATH, max_size=2**22) as ws, asyncio.timeout(60):
        await ws.send(json.dumps({"setup": setup}))
        assert "setupComplete" in json.loads(await ws.recv())
        for question in questions:
            await ws.send(json.dumps({"realtimeInput": {"text": question}}))
            while True:
                message = json.loads(await ws.recv())
                chunks += media_chunks([message])
                if message.get("serverContent", {}).get("turnComplete"):
                    break
    return chunks
