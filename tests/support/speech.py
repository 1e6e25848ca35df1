"""Synthetic speech fixtures: espeak-ng text-to-speech as 16 kHz PCM16, plus silence and noise."""

from __future__ import annotations

import functools
import struct
import subprocess

import numpy as np
import soxr

#: espeak-ng always synthesises at this rate (Hz).
ESPEAK_RATE = 22050


def _wav_payload(wav: bytes) -> tuple[int, bytes]:
    """Return (sample rate in Hz, PCM16 payload) of a RIFF/WAVE byte string.

    espeak-ng's ``--stdout`` header carries a placeholder size (0x7FFFFFFF) for the
    'data' chunk, so the payload is taken from the data chunk's start to the end of
    the buffer rather than trusting the declared length.
    """
    if wav[:4] != b"RIFF" or wav[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE stream")
    pos = 12
    rate = ESPEAK_RATE
    while pos + 8 <= len(wav):
        chunk_id = wav[pos : pos + 4]
        (size,) = struct.unpack_from("<I", wav, pos + 4)
        body = pos + 8
        if chunk_id == b"fmt ":
            fmt_tag, channels, rate = struct.unpack_from("<HHI", wav, body)
            (bits,) = struct.unpack_from("<H", wav, body + 14)
            if fmt_tag != 1 or channels != 1 or bits != 16:
                raise ValueError(f"unsupported WAV format {fmt_tag}/{channels}ch/{bits}bit")
        elif chunk_id == b"data":
            payload = wav[body:]
            return rate, payload[: len(payload) - len(payload) % 2]
        pos = body + size + (size & 1)
    raise ValueError("WAV stream has no data chunk")


@functools.lru_cache(maxsize=256)
def synthesize_pcm16(
    text: str, *, voice: str = "en-us+klatt4", speed: int = 160, rate: int = 16000
) -> bytes:
    """Speak ``text`` with espeak-ng and return raw PCM16 LE mono bytes at ``rate`` Hz.

    ``speed`` is espeak-ng's words per minute. Blocking (runs a subprocess, ~10 ms);
    results are cached, so repeated calls with the same arguments are free.
    """
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text],
        check=True,
        capture_output=True,
        timeout=30,
    ).stdout
    src_rate, payload = _wav_payload(wav)
    samples = np.frombuffer(payload, dtype="<i2").astype(np.float32)
    if src_rate != rate:
        samples = soxr.resample(samples, src_rate, rate)
    # Resampling can overshoot full scale on loud peaks; clip rather than wrap around.
    out = np.clip(np.rint(samples), -32768, 32767).astype("<i2")
    return out.tobytes()


def silence(ms: int, rate: int = 16000) -> bytes:
    """Return ``ms`` milliseconds of digital silence as PCM16 LE mono at ``rate`` Hz."""
    return bytes(2 * (rate * ms // 1000))


def noise(ms: int, *, rms: float = 100.0, seed: int = 0, rate: int = 16000) -> bytes:
    """Return ``ms`` milliseconds of Gaussian white noise with the given RMS (PCM16 units).

    Deterministic for a given ``seed``. The default RMS (100, about -50 dBFS) is a faint
    room hiss that must never count as speech.
    """
    gen = np.random.default_rng(seed)
    samples = gen.normal(0.0, rms, rate * ms // 1000)
    return np.clip(np.rint(samples), -32768, 32767).astype("<i2").tobytes()


def chunks(pcm: bytes, ms: int = 20, rate: int = 16000) -> list[bytes]:
    """Split PCM16 mono bytes into ``ms``-millisecond chunks; the last one may be shorter."""
    size = 2 * (rate * ms // 1000)
    if size <= 0:
        raise ValueError("chunk duration must be at least one sample")
    return [pcm[i : i + size] for i in range(0, len(pcm), size)]


def duration_ms(pcm: bytes, rate: int = 16000) -> int:
    """Return the duration of PCM16 mono bytes in milliseconds (rounded down)."""
    return len(pcm) // 2 * 1000 // rate


def speech_bounds_ms(
    pcm: bytes, *, threshold_dbfs: float = -40.0, rate: int = 16000
) -> tuple[int, int]:
    """Return (first, last) ms of 20 ms frames louder than ``threshold_dbfs`` RMS.

    ``last`` is the end of the last loud frame. Raises ``ValueError`` if nothing is loud.
    """
    frame = rate // 50
    samples = np.frombuffer(pcm[: len(pcm) // (2 * frame) * 2 * frame], dtype="<i2")
    power = np.mean(samples.astype(np.float64).reshape(-1, frame) ** 2, axis=1)
    loud = np.flatnonzero(power >= (32768.0 * 10.0 ** (threshold_dbfs / 20.0)) ** 2)
    if loud.size == 0:
        raise ValueError("no speech found")
    return int(loud[0]) * 20, (int(loud[-1]) + 1) * 20


def trim(pcm: bytes, *, threshold_dbfs: float = -40.0, rate: int = 16000) -> bytes:
    """Cut leading and trailing quiet audio (see :func:`speech_bounds_ms`)."""
    first, last = speech_bounds_ms(pcm, threshold_dbfs=threshold_dbfs, rate=rate)
    per_ms = 2 * rate // 1000
    return pcm[first * per_ms : last * per_ms]
