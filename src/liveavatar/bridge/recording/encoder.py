"""Stereo PCM16 to an Ogg Opus byte stream, handed out as it is made.

libsndfile (through soundfile) writes the Ogg pages into an in-memory sink; each call
returns the bytes written since the last one, so the caller can append them to a file
that grows as the conversation goes on. libsndfile writes whole pages (about one second
of audio each) and never seeks back once the stream has started, so every prefix of the
stream that ends on a page is a file players decode; only the final call closes it with
its end-of-stream page. Blocking (the Opus encoder): run it in a worker thread.
"""

from __future__ import annotations

import io

import numpy as np
import numpy.typing as npt
import soundfile as sf  # type: ignore[import-untyped]

# libsndfile maps this onto Opus's bitrate: 0.9 is about 60 kbit/s for the stereo pair,
# clear speech at 24 kHz.
COMPRESSION_LEVEL = 0.9
OPUS_RATES = (8_000, 12_000, 16_000, 24_000, 48_000)


class _Sink(io.RawIOBase):
    """Where libsndfile writes: collects bytes until they are taken."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._pos = 0
        self.late_seeks = 0  # seeks asked once bytes were written: never, see seek

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True  # libsndfile asks where it is; it does not seek back in an Ogg stream

    def readable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._chunks.append(bytes(data))
        self._pos += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        # Only ever asked at the start (to the start or the end, both 0 then): the stream
        # is written front to back. A test pins that down (test_encoder.py).
        if self._pos:
            self.late_seeks += 1
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, size: int = -1) -> bytes:
        return b""

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


class OpusStreamEncoder:
    """One Ogg Opus stream of 2-channel int16 frames at `rate` (an Opus rate)."""

    def __init__(self, rate: int = 24_000) -> None:
        if rate not in OPUS_RATES:
            raise ValueError(f"Opus encodes at {OPUS_RATES} Hz, not {rate}")
        self.rate = rate
        self._sink = _Sink()
        self._file = sf.SoundFile(
            self._sink,
            "w",
            samplerate=rate,
            channels=2,
            format="OGG",
            subtype="OPUS",
            compression_level=COMPRESSION_LEVEL,
        )
        self.frames = 0

    @property
    def late_seeks(self) -> int:
        return self._sink.late_seeks

    def encode(self, frames: npt.NDArray[np.int16]) -> bytes:
        """Encode (n, 2) frames; returns the stream's new bytes (often none: pages fill
        about once a second)."""
        if len(frames):
            self._file.write(frames)
            self.frames += len(frames)
        return self._sink.take()

    def close(self) -> bytes:
        """End the stream; returns its last bytes. The encoder cannot be used after."""
        if not self._file.closed:
            self._file.close()
        return self._sink.take()
