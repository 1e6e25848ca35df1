"""The Ogg Opus stream encoder, decoded by libsndfile (an independent decoder)."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import io
import struct

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf  # type: ignore[import-untyped]

from liveavatar.bridge.recording import opus
from liveavatar.bridge.recording.encoder import OpusStreamEncoder

from .support import decode, loud_between, tone

RATE = 24_000


def stereo(left: bytes, right: bytes) -> npt.NDArray[np.int16]:
    a = np.frombuffer(left, dtype="<i2")
    b = np.frombuffer(right, dtype="<i2")
    return np.stack([a, b], axis=1).astype(np.int16)


def silence(seconds: float) -> bytes:
    return bytes(2 * round(seconds * RATE))


def page_ends(data: bytes) -> list[int]:
    """The offset just past each Ogg page."""
    ends, pos = [], 0
    while pos < len(data):
        count = data[pos + 26]
        pos += 27 + count + sum(data[pos + 27 : pos + 27 + count])
        ends.append(pos)
    return ends


def encode_in_chunks(frames: npt.NDArray[np.int16], chunk: int) -> tuple[bytes, list[int]]:
    """The whole stream, and its length after each `encode` call."""
    encoder = OpusStreamEncoder(RATE)
    data = bytearray()
    lengths = []
    for start in range(0, len(frames), chunk):
        data += encoder.encode(frames[start : start + chunk])
        lengths.append(len(data))
    data += encoder.close()
    return bytes(data), lengths


def test_decodes_at_the_input_rate_with_the_input_duration() -> None:
    frames = stereo(tone(2.345, RATE), tone(2.345, RATE, 880))
    data, _ = encode_in_chunks(frames, 4_801)
    audio, rate = decode(data)
    assert rate == RATE and audio.shape[1] == 2
    assert abs(len(audio) - len(frames)) <= RATE * 0.02


def test_each_side_comes_back_in_its_channel_at_its_time() -> None:
    left = tone(1.0, RATE, 300) + silence(2.0)
    right = silence(1.5) + tone(1.0, RATE, 1000) + silence(0.5)
    data, _ = encode_in_chunks(stereo(left, right), RATE // 2)
    audio, rate = decode(data)
    assert loud_between(audio[:, 0], rate, 0.05, 0.95) == 1.0
    assert loud_between(audio[:, 0], rate, 1.1, 3.0) == 0.0
    assert loud_between(audio[:, 1], rate, 1.55, 2.45) == 1.0
    assert loud_between(audio[:, 1], rate, 0.0, 1.4) == 0.0
    assert loud_between(audio[:, 1], rate, 2.6, 3.0) == 0.0


def test_every_prefix_ending_on_a_page_decodes() -> None:
    """What a crashed backend leaves: the stream without its end page."""
    frames = stereo(tone(4.5, RATE), tone(4.5, RATE, 660))
    data, lengths = encode_in_chunks(frames, RATE * 2)
    ends = page_ends(data)
    audio_pages = ends[2:-1]  # after OpusHead and OpusTags, before the end page
    assert len(audio_pages) >= 3  # about a page a second
    for end in audio_pages:
        audio, rate = decode(data[:end])
        assert rate == RATE and audio.shape[1] == 2 and len(audio) > 0
    for length in lengths:  # what each encode call left in the file
        assert length == 0 or length in ends
        if length:
            decode(data[:length])


def test_the_headers_come_out_with_the_first_audio_page() -> None:
    encoder = OpusStreamEncoder(RATE)
    assert encoder.encode(stereo(tone(0.2, RATE), tone(0.2, RATE))) == b""
    assert encoder.encode(stereo(tone(1.0, RATE), tone(1.0, RATE))).startswith(b"OggS")


def test_close_twice_is_safe_and_an_empty_stream_decodes() -> None:
    encoder = OpusStreamEncoder(RATE)
    data = encoder.close()
    assert encoder.close() == b""
    audio, rate = decode(data)
    assert rate == RATE and len(audio) == 0
    with pytest.raises(RuntimeError):
        encoder.encode(stereo(tone(0.1, RATE), tone(0.1, RATE)))


def test_frames_counts_the_input_and_nothing_seeks() -> None:
    encoder = OpusStreamEncoder(RATE)
    encoder.encode(stereo(tone(0.33, RATE), tone(0.33, RATE)))
    encoder.encode(np.zeros((0, 2), dtype=np.int16))
    assert encoder.frames == round(0.33 * RATE)
    assert encoder.late_seeks == 0


def test_the_head_carries_the_encoders_lookahead_as_pre_skip() -> None:
    encoder = OpusStreamEncoder(RATE)
    data = encoder.encode(stereo(tone(1.0, RATE), tone(1.0, RATE)))
    head = data[data.index(b"OpusHead") :]
    version, channels, pre_skip, rate, gain, family = struct.unpack_from("<BBHIhB", head, 8)
    lookahead = opus.OpusEncoder(RATE).lookahead
    assert (version, channels, rate, gain, family) == (1, 2, RATE, 0, 0)
    assert pre_skip == lookahead * 48_000 // RATE > 0
    assert sf.info(io.BytesIO(data)).samplerate == RATE


def test_the_library_releases_the_gil_during_each_call() -> None:
    # CDLL (not PyDLL) drops the GIL around foreign calls: a worker thread encoding does
    # not stall the event loop's thread.
    assert type(opus._library()) is ctypes.CDLL


async def test_encoding_in_a_worker_thread_gives_the_same_stream_length() -> None:
    frames = stereo(tone(1.5, RATE), tone(1.5, RATE, 880))
    encoder = OpusStreamEncoder(RATE)
    data = await asyncio.to_thread(encoder.encode, frames)
    data += await asyncio.to_thread(encoder.close)
    audio, _ = decode(data)
    assert abs(len(audio) - len(frames)) <= RATE * 0.02


def test_a_missing_library_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    opus._library.cache_clear()
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: "libopus-missing.so")
    try:
        with pytest.raises(opus.OpusError, match=opus.DEBIAN_PACKAGE):
            opus._library()
    finally:
        monkeypatch.undo()
        opus._library.cache_clear()


def test_the_rate_must_be_an_opus_rate() -> None:
    with pytest.raises(ValueError):
        OpusStreamEncoder(22_050)
