"""Streaming voice activity detection (webrtcvad plus an energy gate) for the Live API emulator."""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import webrtcvad

#: Analysis frame length in ms; webrtcvad accepts 10, 20 or 30.
FRAME_MS = 20

_SUPPORTED_RATES = (8000, 16000, 32000, 48000)

# Minimum voiced audio (ms) before start-of-speech is committed, per start sensitivity.
# LOW must sit well above a typical click or cough burst (~100 ms).
_START_MS: dict[str, int] = {"HIGH": 60, "LOW": 200}

# webrtcvad aggressiveness used while in speech, per end sensitivity. Mode 3 calls more
# frames non-speech, so the trailing-silence clock starts sooner (HIGH ends sooner).
_END_MODE: dict[str, int] = {"HIGH": 3, "LOW": 1}

# Consecutive voiced frames needed to reset the trailing-silence clock. With HIGH a lone
# voiced frame (a click, a breath) in the pause does not keep the utterance alive.
_END_RESET_FRAMES: dict[str, int] = {"HIGH": 2, "LOW": 1}

# At most this many loud frames (200 ms) just before the voiced run join the onset.
_ONSET_FRAMES = 200 // FRAME_MS

# Start detection always uses the strictest mode: mode 0 false-alarms on noise far too often.
_START_MODE = 3


@dataclass(frozen=True)
class VadConfig:
    """Knobs of the Live API ``realtimeInputConfig.automaticActivityDetection``.

    ``start_sensitivity``: ``"HIGH"`` commits start-of-speech after 60 ms of voiced audio,
    ``"LOW"`` after 200 ms (so short clicks and bursts are ignored).
    ``end_sensitivity``: ``"HIGH"`` ends speech sooner (stricter voicing decision in the
    pause, lone voiced frames do not reset the silence clock).
    ``prefix_padding_ms``: audio (ms) from before the detected start that is included in
    ``SpeechStarted.preroll`` (the Live API guide's reading of ``prefixPaddingMs``; its API
    reference instead calls it a minimum speech duration, which the sensitivity covers).
    The detected start already includes weak onsets webrtcvad misses, so 20 ms is enough
    for the recogniser.
    ``silence_duration_ms``: trailing non-speech (ms) needed to end the utterance.
    ``energy_threshold_dbfs``: emulator-only energy gate; a frame whose RMS is below this
    level (dB relative to full scale) never counts as speech, whatever webrtcvad says.
    """

    start_sensitivity: Literal["HIGH", "LOW"] = "HIGH"
    end_sensitivity: Literal["HIGH", "LOW"] = "HIGH"
    prefix_padding_ms: int = 20
    silence_duration_ms: int = 500
    energy_threshold_dbfs: float = -45.0

    def __post_init__(self) -> None:
        if self.start_sensitivity not in _START_MS:
            raise ValueError(f"bad start_sensitivity {self.start_sensitivity!r}")
        if self.end_sensitivity not in _END_MODE:
            raise ValueError(f"bad end_sensitivity {self.end_sensitivity!r}")
        if self.prefix_padding_ms < 0 or self.silence_duration_ms < 0:
            raise ValueError("durations must be non-negative")


@dataclass(frozen=True)
class SpeechStarted:
    """Start of an utterance.

    ``offset_ms`` is the stream position (ms of audio since the VAD was created) of the onset:
    the first voiced frame, moved back over up to 200 ms of loud frames just before it.
    ``preroll`` is PCM16 audio from ``prefix_padding_ms`` before the onset up to the end of
    the frame that committed the start; feed it to the recogniser first.
    """

    offset_ms: int
    preroll: bytes


@dataclass(frozen=True)
class SpeechEnded:
    """End of an utterance, at ``offset_ms`` (ms of audio since creation) when it was declared."""

    offset_ms: int


VadEvent = SpeechStarted | SpeechEnded | bytes


class StreamingVad:
    """Incremental voice activity detector for PCM16 LE mono audio.

    Feed audio of any chunk size to :meth:`process`; it is cut into 20 ms frames internally
    (a trailing partial frame waits for the next call). Each frame costs a few µs of CPU; no
    threads, no I/O. Not thread-safe: use one instance per audio stream from one thread (or
    one asyncio task) at a time.
    """

    def __init__(self, config: VadConfig, sample_rate: int = 16000) -> None:
        """Create a detector for ``sample_rate`` Hz (8000, 16000, 32000 or 48000)."""
        if sample_rate not in _SUPPORTED_RATES:
            raise ValueError(f"unsupported sample rate {sample_rate} Hz")
        self._config = config
        self._rate = sample_rate
        self._frame_samples = sample_rate * FRAME_MS // 1000
        self._frame_bytes = 2 * self._frame_samples
        rms = 32768.0 * 10.0 ** (config.energy_threshold_dbfs / 20.0)
        # Compare summed squares directly: avoids a sqrt per frame.
        self._min_energy = int(rms * rms * self._frame_samples)
        self._start_frames = math.ceil(_START_MS[config.start_sensitivity] / FRAME_MS)
        # Tolerate one unvoiced frame per ten: stop closures inside real speech.
        self._start_needed = self._start_frames - self._start_frames // 10
        self._pad_frames = math.ceil(config.prefix_padding_ms / FRAME_MS)
        self._end_frames = max(1, math.ceil(config.silence_duration_ms / FRAME_MS))
        self._end_reset = _END_RESET_FRAMES[config.end_sensitivity]
        self._samples = 0
        self._pending = b""
        self.reset()

    @property
    def in_speech(self) -> bool:
        """True between a ``SpeechStarted`` and the matching ``SpeechEnded``."""
        return self._in_speech

    @property
    def offset_ms(self) -> int:
        """Milliseconds of audio consumed since creation (buffered partial frames excluded)."""
        return self._samples * 1000 // self._rate

    def reset(self) -> None:
        """Forget any utterance in progress and buffered audio, without emitting events.

        The stream clock keeps running: a dropped partial frame still counts as consumed.
        """
        self._samples += len(self._pending) // 2
        self._pending = b""
        self._start_vad = webrtcvad.Vad(_START_MODE)
        self._end_vad = webrtcvad.Vad(_END_MODE[self._config.end_sensitivity])
        self._in_speech = False
        # Recent (frame, loud) pairs: enough for the start window, onset backtracking
        # and the prefix padding.
        self._history: collections.deque[tuple[bytes, bool]] = collections.deque(
            maxlen=self._pad_frames + self._start_frames + _ONSET_FRAMES
        )
        self._flags: collections.deque[bool] = collections.deque(maxlen=self._start_frames)
        self._silent_frames = 0
        self._voiced_run = 0

    def process(self, pcm: bytes) -> list[VadEvent]:
        """Consume ``pcm`` (PCM16 LE mono bytes, any length) and return events in order.

        The list interleaves :class:`SpeechStarted`, :class:`SpeechEnded` and ``bytes``: the
        bytes are the audio that belongs to the current utterance (everything after the
        preroll while :attr:`in_speech`, including the trailing pause up to the frame that
        declares the end), so a caller can forward every ``bytes`` item to the recogniser.
        Consecutive frames are merged into one ``bytes`` item.
        """
        data = self._pending + pcm if self._pending else pcm
        out: list[VadEvent] = []
        speech = bytearray()
        n_frames = len(data) // self._frame_bytes
        for i in range(n_frames):
            frame = data[i * self._frame_bytes : (i + 1) * self._frame_bytes]
            self._samples += self._frame_samples
            event = self._frame(frame)
            if event is None:
                if self._in_speech:
                    speech += frame
                continue
            if isinstance(event, SpeechEnded):
                speech += frame
            if speech:
                out.append(bytes(speech))
                speech.clear()
            out.append(event)
        if speech:
            out.append(bytes(speech))
        self._pending = data[n_frames * self._frame_bytes :]
        return out

    def flush(self) -> list[SpeechEnded]:
        """End any utterance in progress now (client sent ``audioStreamEnd``).

        A buffered partial frame (< 20 ms) is discarded but counted on the stream clock.
        """
        was_in_speech = self._in_speech
        self.reset()
        return [SpeechEnded(self.offset_ms)] if was_in_speech else []

    def _energetic(self, frame: bytes) -> bool:
        samples = np.frombuffer(frame, dtype="<i2").astype(np.int64)
        return int(np.dot(samples, samples)) >= self._min_energy

    def _frame(self, frame: bytes) -> SpeechStarted | SpeechEnded | None:
        loud = self._energetic(frame)
        start_voiced = loud and self._start_vad.is_speech(frame, self._rate)
        end_voiced = loud and self._end_vad.is_speech(frame, self._rate)
        self._history.append((frame, loud))
        self._flags.append(start_voiced)
        if self._in_speech:
            self._voiced_run = self._voiced_run + 1 if end_voiced else 0
            if self._voiced_run >= self._end_reset:
                self._silent_frames = 0
            elif not end_voiced:
                self._silent_frames += 1
            if self._silent_frames >= self._end_frames:
                self._in_speech = False
                self._flags.clear()
                return SpeechEnded(self.offset_ms)
            return None
        if not start_voiced or sum(self._flags) < self._start_needed:
            return None
        history = list(self._history)
        onset = len(history) - len(self._flags)
        onset += next(i for i, flag in enumerate(self._flags) if flag)
        # webrtcvad is late on weak onsets (the "h" of "how"): move the start back over
        # the loud frames just before the voiced run.
        floor = max(0, onset - _ONSET_FRAMES)
        while onset > floor and history[onset - 1][1]:
            onset -= 1
        keep = b"".join(frame for frame, _ in history[max(0, onset - self._pad_frames) :])
        self._in_speech = True
        self._silent_frames = 0
        self._voiced_run = 0
        start_samples = self._samples - (len(history) - onset) * self._frame_samples
        return SpeechStarted(start_samples * 1000 // self._rate, keep)
