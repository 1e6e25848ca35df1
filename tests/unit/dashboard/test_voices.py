from __future__ import annotations

import io
import wave

import pytest

from liveavatar.dashboard.voices import SampleUnavailable, voice_sample, wav_bytes


def test_wav_wraps_pcm() -> None:
    data = wav_bytes(b"\x01\x00" * 240, 24_000)
    with wave.open(io.BytesIO(data)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 24_000)
        assert wav.getnframes() == 240


async def test_a_sample_is_spoken_in_the_voice() -> None:
    # espeak-ng is a system dependency of the emulator (scripts/install-system-deps.sh).
    data = await voice_sample("Charon", "Hello.")
    with wave.open(io.BytesIO(data)) as wav:
        assert wav.getframerate() == 24_000
        assert wav.getnframes() > 2_400


async def test_an_unknown_voice_has_no_sample() -> None:
    with pytest.raises(SampleUnavailable, match="unknown voice"):
        await voice_sample("Robot")
