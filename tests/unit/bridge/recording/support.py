"""Synthetic audio for the recording tests, and where a decoded file has sound."""

from __future__ import annotations

import io

import numpy as np
import numpy.typing as npt
import soundfile as sf  # type: ignore[import-untyped]

Audio = npt.NDArray[np.float64]


def tone(seconds: float, rate: int, hz: float = 440.0, level: float = 0.5) -> bytes:
    """A sine as PCM16 LE."""
    t = np.arange(round(seconds * rate)) / rate
    return (np.sin(2 * np.pi * hz * t) * level * 32767).astype("<i2").tobytes()


def frames(pcm: bytes, rate: int, frame_s: float = 0.02) -> list[bytes]:
    """`pcm` cut into frames as the page sends them."""
    size = round(frame_s * rate) * 2
    return [pcm[i : i + size] for i in range(0, len(pcm), size)]


def decode(data: bytes) -> tuple[Audio, int]:
    """A whole Ogg Opus file as float frames (n, channels), and its rate."""
    audio, rate = sf.read(io.BytesIO(data), dtype="float64", always_2d=True)
    return audio, int(rate)


def loud(channel: Audio, rate: int, window_s: float = 0.02, floor: float = 0.05) -> list[bool]:
    """Per window of `window_s`: whether the channel's RMS is above `floor`."""
    n = round(window_s * rate)
    count = len(channel) // n
    blocks = channel[: count * n].reshape(count, n)
    return [bool(v) for v in np.sqrt((blocks**2).mean(axis=1)) > floor]


def loud_between(channel: Audio, rate: int, start_s: float, end_s: float) -> float:
    """The share of 20 ms windows in [start_s, end_s) that are loud."""
    marks = loud(channel, rate)
    a, b = round(start_s / 0.02), round(end_s / 0.02)
    span = marks[a:b]
    return sum(span) / max(1, len(span))
