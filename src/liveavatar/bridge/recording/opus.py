"""The system libopus encoder, through ctypes.

libsndfile runs Opus at its maximum complexity (10) with no way to lower it; the recording
does not need that. Measured on the bench machine with 23 s of espeak speech at 24 kHz,
the user on the left then the model on the right (each channel half silent), 20 ms
frames, CPU time as a share of one core while recording in real time:

| encoder | CPU | bitrate |
|---|---|---|
| libsndfile (complexity 10, compression level 0.9) | 2.46 % | 63 kbit/s |
| libopus, complexity 10, 32 kbit/s | 1.9-2.1 % | 32 kbit/s |
| libopus, complexity 5, 32 kbit/s | 0.44 % | 33 kbit/s |
| libopus, complexity 2, 32 kbit/s | 0.27 % | 33 kbit/s |
| libopus, complexity 2, 32 kbit/s, `OPUS_SIGNAL_VOICE` | 0.84 % | 31 kbit/s |

So: complexity 2 at 32 kbit/s for the stereo pair (about 14 MB an hour), which is clear
speech for a review recording. The voice signal hint is left off: it moves the encoder to
its speech mode (SILK), which costs three times as much here for no audible gain at this
bitrate. The whole stream (framing, Ogg pages) costs about 0.3-0.5 % of a core.

ctypes releases the GIL during each C call, so a worker thread encoding does not hold up
the event loop.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

DEBIAN_PACKAGE = "libopus0"

OPUS_OK = 0
OPUS_APPLICATION_AUDIO = 2049
OPUS_SET_BITRATE = 4002
OPUS_SET_COMPLEXITY = 4010
OPUS_SET_SIGNAL = 4024
OPUS_GET_LOOKAHEAD = 4027
OPUS_SIGNAL_VOICE = 3001

COMPLEXITY = 2
BITRATE = 32_000
CHANNELS = 2
FRAME_MS = 20
OPUS_RATES = (8_000, 12_000, 16_000, 24_000, 48_000)
# RFC 6716 §3.2.1: no packet is longer than this.
MAX_PACKET_BYTES = 1275 * 3 + 7


class OpusError(RuntimeError):
    """libopus is missing or refused a call."""


@cache
def _library() -> ctypes.CDLL:
    name = ctypes.util.find_library("opus") or "libopus.so.0"
    try:
        lib = ctypes.CDLL(name)  # CDLL, not PyDLL: the GIL is released in each call
    except OSError as e:
        raise OpusError(
            f"cannot load libopus ({name}): install the Debian package {DEBIAN_PACKAGE}"
        ) from e
    lib.opus_encoder_create.argtypes = [
        ctypes.c_int32,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.POINTER(ctypes.c_int),
    ]
    lib.opus_encoder_create.restype = ctypes.c_void_p
    lib.opus_encoder_destroy.argtypes = [ctypes.c_void_p]
    lib.opus_encoder_destroy.restype = None
    lib.opus_encode.argtypes = [
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.c_void_p,
        ctypes.c_int32,
    ]
    lib.opus_encode.restype = ctypes.c_int32
    # opus_encoder_ctl is variadic: no argtypes, each argument passed as its C type.
    lib.opus_encoder_ctl.restype = ctypes.c_int
    lib.opus_strerror.argtypes = [ctypes.c_int]
    lib.opus_strerror.restype = ctypes.c_char_p
    lib.opus_get_version_string.argtypes = []
    lib.opus_get_version_string.restype = ctypes.c_char_p
    return lib


def version() -> str:
    """libopus's own version string, e.g. `libopus 1.3.1`."""
    raw: bytes = _library().opus_get_version_string()
    return raw.decode("ascii", "replace")


def _check(code: int, what: str) -> int:
    if code < 0:
        reason: bytes = _library().opus_strerror(code)
        raise OpusError(f"{what}: {reason.decode('ascii', 'replace')}")
    return code


@dataclass(frozen=True)
class EncoderSettings:
    complexity: int = COMPLEXITY
    bitrate: int = BITRATE
    voice: bool = False


class OpusEncoder:
    """One libopus encoder of 2-channel int16 at `rate`, one 20 ms frame per call."""

    def __init__(self, rate: int, settings: EncoderSettings | None = None) -> None:
        self._handle: int | None = None
        if rate not in OPUS_RATES:
            raise ValueError(f"Opus encodes at {OPUS_RATES} Hz, not {rate}")
        settings = settings or EncoderSettings()
        lib = _library()
        self.rate = rate
        self.frame_samples = rate * FRAME_MS // 1000
        err = ctypes.c_int(0)
        handle = lib.opus_encoder_create(rate, CHANNELS, OPUS_APPLICATION_AUDIO, ctypes.byref(err))
        _check(err.value, "opus_encoder_create")
        if not handle:
            raise OpusError("opus_encoder_create returned no encoder")
        self._handle = handle
        self._out = ctypes.create_string_buffer(MAX_PACKET_BYTES)
        self._set(OPUS_SET_COMPLEXITY, settings.complexity)
        self._set(OPUS_SET_BITRATE, settings.bitrate)
        if settings.voice:
            self._set(OPUS_SET_SIGNAL, OPUS_SIGNAL_VOICE)
        lookahead = ctypes.c_int32(0)
        _check(
            lib.opus_encoder_ctl(
                ctypes.c_void_p(handle), ctypes.c_int(OPUS_GET_LOOKAHEAD), ctypes.byref(lookahead)
            ),
            "OPUS_GET_LOOKAHEAD",
        )
        self.lookahead = lookahead.value  # in samples at `rate`

    def _set(self, request: int, value: int) -> None:
        _check(
            _library().opus_encoder_ctl(
                ctypes.c_void_p(self._live()), ctypes.c_int(request), ctypes.c_int32(value)
            ),
            f"opus_encoder_ctl({request}, {value})",
        )

    def _live(self) -> int:
        if self._handle is None:
            raise OpusError("the encoder is closed")
        return self._handle

    def encode(self, frame: npt.NDArray[np.int16]) -> bytes:
        """One packet from exactly `frame_samples` (n, 2) frames."""
        pcm = np.ascontiguousarray(frame, dtype=np.int16)
        if pcm.shape != (self.frame_samples, CHANNELS):
            raise ValueError(f"a frame is ({self.frame_samples}, 2), not {pcm.shape}")
        n = _library().opus_encode(
            self._live(),
            pcm.ctypes.data,
            self.frame_samples,
            ctypes.addressof(self._out),
            MAX_PACKET_BYTES,
        )
        return self._out.raw[: _check(n, "opus_encode")]

    def close(self) -> None:
        """Frees the encoder; safe to call more than once."""
        if self._handle is not None:
            _library().opus_encoder_destroy(self._handle)
            self._handle = None

    def __del__(self) -> None:
        self.close()
