"""Stereo PCM16 to an Ogg Opus byte stream, handed out as it is made.

libopus (`opus.py`) encodes 20 ms frames; `ogg.py` puts the packets in pages. A page is
written about every second of audio, and nothing is rewritten once out, so the caller can
append each call's bytes to a file that grows as the conversation goes on and every
prefix of it that ends on a page is a file players decode; only `close` ends it with its
end-of-stream page. Blocking (the Opus encoder): run it in a worker thread.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .ogg import GRANULE_RATE, OggOpusMuxer
from .opus import CHANNELS, OPUS_RATES, OpusEncoder, version

__all__ = ["OPUS_RATES", "PAGE_S", "OpusStreamEncoder"]

PAGE_S = 1.0


class OpusStreamEncoder:
    """One Ogg Opus stream of 2-channel int16 frames at `rate` (an Opus rate)."""

    def __init__(self, rate: int = 24_000) -> None:
        self.rate = rate
        self._opus = OpusEncoder(rate)
        self._scale = GRANULE_RATE // rate
        self._frame = self._opus.frame_samples
        self._packet_48k = self._frame * self._scale
        self._page_packets = round(PAGE_S * rate / self._frame)
        self._mux = OggOpusMuxer(
            CHANNELS, self._opus.lookahead * self._scale, rate, f"liveavatar, {version()}"
        )
        self._held = np.zeros((0, CHANNELS), dtype=np.int16)
        self._packets = 0
        self.frames = 0
        # Kept from the libsndfile encoder, which could have seeked back: this one never does.
        self.late_seeks = 0

    def encode(self, frames: npt.NDArray[np.int16]) -> bytes:
        """Encode (n, 2) frames; returns the stream's new bytes (often none: pages fill
        about once a second)."""
        if self._mux.ended:
            raise RuntimeError("the stream is closed")
        if len(frames):
            self.frames += len(frames)
            pcm = np.concatenate([self._held, np.asarray(frames, dtype=np.int16)])
            whole = len(pcm) - len(pcm) % self._frame
            for start in range(0, whole, self._frame):
                self._add(pcm[start : start + self._frame])
            self._held = pcm[whole:]
        return self._mux.take()

    def close(self) -> bytes:
        """End the stream; returns its last bytes. The encoder cannot be used after;
        closing again returns nothing."""
        if self._mux.ended:
            return b""
        end = self._mux.pre_skip + self.frames * self._scale
        # The encoder holds back its lookahead: feed silence until every input sample
        # (and the pre-skip) has come out, then let the end granule trim the rest.
        pad = np.zeros((self._frame - len(self._held), CHANNELS), dtype=np.int16)
        self._add(np.concatenate([self._held, pad]), page=False)
        self._held = self._held[:0]
        silence = np.zeros((self._frame, CHANNELS), dtype=np.int16)
        while self._decoded < end:
            self._add(silence, page=False)
        self._mux.flush(end_granule=end)
        self._opus.close()
        return self._mux.take()

    @property
    def _decoded(self) -> int:
        return self._packets * self._packet_48k

    def _add(self, frame: npt.NDArray[np.int16], *, page: bool = True) -> None:
        self._mux.add(self._opus.encode(frame), self._packet_48k)
        self._packets += 1
        if page and self._mux.queued >= self._page_packets:
            self._mux.flush()
