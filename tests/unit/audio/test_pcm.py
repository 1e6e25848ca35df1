"""Unit tests for the PCM16 helpers."""

from __future__ import annotations

import base64
import itertools
import math
import random

import numpy as np
import pytest

from liveavatar.audio import pcm


def _sine(freq_hz: float, rate_hz: int, ms: int, amplitude: float = 0.5) -> bytes:
    t = np.arange(rate_hz * ms // 1000) / rate_hz
    return (np.sin(2 * np.pi * freq_hz * t) * amplitude * 32767).astype("<i2").tobytes()


def _frequency(audio: bytes, rate_hz: int) -> float:
    """Frequency estimated from rising zero crossings."""
    x = pcm.as_samples(audio).astype(np.int32)
    rising = np.flatnonzero((x[:-1] < 0) & (x[1:] >= 0))
    return (len(rising) - 1) * rate_hz / float(rising[-1] - rising[0])


# --- base64 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("length", range(12))
def test_base64_round_trip_in_both_alphabets_with_and_without_padding(length: int) -> None:
    data = bytes(range(250, 256)) + random.Random(length).randbytes(length)
    standard = base64.b64encode(data).decode()
    urlsafe = base64.urlsafe_b64encode(data).decode()
    for text in (standard, urlsafe, standard.rstrip("="), urlsafe.rstrip("=")):
        assert pcm.decode_base64(text) == data
    assert pcm.encode_base64(data) == standard


def test_decode_base64_ignores_whitespace() -> None:
    assert pcm.decode_base64(" aGVs\nbG8g\r\nd29y bGQ=\t") == b"hello world"


def test_decode_base64_accepts_sdk_style_urlsafe_jpeg_prefix() -> None:
    assert pcm.decode_base64("_9j_4A==") == b"\xff\xd8\xff\xe0"


def test_decode_base64_empty() -> None:
    assert pcm.decode_base64("") == b""


@pytest.mark.parametrize(
    "garbage",
    ["!!!", "abc$", "YQ===", "=YQ", "Y", "Y=Q=", "YWJj=", "aGVsbG8*", "héllo", "YQ==YQ=="],
)
def test_decode_base64_rejects_garbage(garbage: str) -> None:
    with pytest.raises(ValueError, match="invalid base64"):
        pcm.decode_base64(garbage)


# --- levels and sizes -----------------------------------------------------------------------


def test_levels_of_silence_and_empty_audio() -> None:
    for audio in (b"", b"\x00", pcm.silence(20, 16_000)):
        assert pcm.rms(audio) == 0.0
        assert pcm.peak(audio) == 0.0
    assert pcm.dbfs(0.0) == -math.inf


def test_levels_of_sine_and_full_scale_square() -> None:
    sine = _sine(1000, 16_000, 100, amplitude=0.5)
    assert pcm.rms(sine) == pytest.approx(0.5 / math.sqrt(2), rel=0.01)
    assert pcm.peak(sine) == pytest.approx(0.5, rel=0.01)
    square = np.tile(np.array([32767, -32768], dtype="<i2"), 100).tobytes()
    assert pcm.rms(square) == pytest.approx(1.0, abs=1e-4)
    assert pcm.peak(square) == 1.0
    assert pcm.dbfs(1.0) == 0.0
    assert pcm.dbfs(0.5) == pytest.approx(-6.02, abs=0.01)


def test_odd_byte_length_is_safe() -> None:
    audio = np.array([1000, -1000, 1000], dtype="<i2").tobytes() + b"\x7f"
    assert pcm.as_samples(audio).tolist() == [1000, -1000, 1000]
    assert pcm.rms(audio) == pytest.approx(1000 / 32768)
    assert pcm.duration_ms(audio, 16_000) == pytest.approx(3 / 16)


def test_duration_and_byte_counts() -> None:
    assert pcm.bytes_for_ms(20, 16_000) == 640
    assert pcm.bytes_for_ms(40, 24_000) == 1920
    assert pcm.duration_ms(pcm.silence(250, 24_000), 24_000) == 250.0


# --- MIME rates -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mime", "rate"),
    [
        ("audio/pcm;rate=16000", 16_000),
        ("audio/pcm", None),
        ("audio/L16;codec=pcm;rate=24000", 24_000),
        (" Audio/PCM ; RATE = 48000 ", 48_000),
        ('audio/pcm;rate="8000"', 8_000),
        ("audio/l16;rate=22050;channels=1", 22_050),
        ("audio/pcm;codec=pcm", None),
    ],
)
def test_parse_pcm_rate(mime: str, rate: int | None) -> None:
    assert pcm.parse_pcm_rate(mime) == rate


@pytest.mark.parametrize(
    "mime",
    ["audio/webm", "image/jpeg", "", "audio/pcm;rate=abc", "audio/pcm;rate=", "audio/pcm;rate=5"],
)
def test_parse_pcm_rate_rejects_other_types_and_bad_rates(mime: str) -> None:
    with pytest.raises(ValueError):
        pcm.parse_pcm_rate(mime)


# --- resampling -----------------------------------------------------------------------------


def test_upsample_16k_to_24k_lengths() -> None:
    assert pcm.upsample_16k_to_24k(b"") == b""
    assert len(pcm.upsample_16k_to_24k(pcm.silence(20, 16_000))) == pcm.bytes_for_ms(20, 24_000)
    assert len(pcm.upsample_16k_to_24k(b"\x01\x00" * 5 + b"\x09")) == 7 * pcm.SAMPLE_WIDTH


def test_upsample_16k_to_24k_interpolates_linearly() -> None:
    ramp = np.arange(0, 3000, 300, dtype="<i2")
    out = pcm.as_samples(pcm.upsample_16k_to_24k(ramp.tobytes()))
    # Positions 0, 2/3, 4/3, ... of a ramp; the last output sample is held at the end.
    expected = np.minimum(np.arange(15) * 200, 2700)
    assert np.abs(out.astype(np.int32) - expected).max() <= 1


def test_upsample_16k_to_24k_keeps_pitch_and_level() -> None:
    tone = _sine(440, 16_000, 1000)
    chunks = [tone[i : i + 640] for i in range(0, len(tone), 640)]
    out = b"".join(pcm.upsample_16k_to_24k(chunk) for chunk in chunks)
    assert len(out) == pcm.bytes_for_ms(1000, 24_000)
    assert _frequency(out, 24_000) == pytest.approx(440, rel=0.005)
    assert pcm.rms(out) == pytest.approx(pcm.rms(tone), rel=0.02)


def test_resample_one_shot_keeps_pitch() -> None:
    out = pcm.resample(_sine(1000, 22_050, 500), 22_050, 24_000)
    assert abs(len(out) // 2 - 12_000) <= 2
    assert _frequency(out, 24_000) == pytest.approx(1000, rel=0.005)
    assert pcm.resample(b"\x01\x02\x03", 16_000, 16_000) == b"\x01\x02"
    assert pcm.resample(b"", 16_000, 24_000) == b""


def test_streaming_resampler_handles_odd_chunks_and_flushes() -> None:
    tone = _sine(500, 22_050, 1000)
    resampler = pcm.Resampler(22_050, 24_000)
    out = bytearray()
    pos = 0
    for size in itertools.cycle([1, 333, 4096, 7, 1000]):
        if pos >= len(tone):
            break
        out += resampler.process(tone[pos : pos + size])
        pos += size
    out += resampler.process(b"", last=True)
    assert len(out) % 2 == 0
    assert abs(len(out) // 2 - 24_000) <= 2
    assert _frequency(bytes(out), 24_000) == pytest.approx(500, rel=0.005)
    with pytest.raises(RuntimeError):
        resampler.process(b"\x00\x00")


def test_streaming_resampler_same_rate_passes_through() -> None:
    resampler = pcm.Resampler(16_000, 16_000)
    assert resampler.process(b"\x01\x02\x03") == b"\x01\x02"
    assert resampler.process(b"\x04") == b"\x03\x04"
    assert resampler.process(b"\x05", last=True) == b""


def test_resampler_rejects_bad_rates() -> None:
    with pytest.raises(ValueError):
        pcm.Resampler(0, 24_000)
