"""One microphone stream's turn-taking: when the user starts speaking, and when they
have finished (a short silence after an utterance the smart-turn model judges complete,
or in any case a longer one). Synchronous and CPU-bound: the bridge runs it in its
worker pool (`bridge/smart_turn.py`), one call per chunk, in order.

The model is asked speculatively, as soon as Silero's probability falls below
`SILENCE_P` for `speculate_ms` (one window by default), not when the short silence has
elapsed: the inference (tens of ms) then runs while the short silence is still being
heard, and the verdict is ready when it has. If speech resumes the verdict is dropped;
a later pause asks again."""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass

import numpy as np

from .features import F32, SAMPLE_RATE, WINDOW_SAMPLES
from .models import VAD_WINDOW, SileroState, TurnModels
from .settings import TurnSettings

WINDOW_MS = VAD_WINDOW * 1000 // SAMPLE_RATE  # 32
SPEECH_P = 0.5  # a window at or above this is speech
SILENCE_P = 0.35  # below this, silence; between the two a window keeps the state it finds
SPECULATE_MS = WINDOW_MS  # silence after which the model is asked (its verdict kept)
# Asked early, the model could hear zeros standing for the silence not yet heard, up to
# this much. 0: on natural speech padding made more pauses look final (docs/PERFORMANCE.md).
ASSUMED_SILENCE_MS = 0
START_WINDOWS = 3  # speech windows among the last START_OF, to start an utterance (~100 ms)
START_OF = 4
PREROLL_MS = 300  # audio before the start that goes to Live with it (the first syllable)
_PREROLL_WINDOWS = PREROLL_MS // WINDOW_MS + START_OF
_MAX_UTTERANCE_WINDOWS = WINDOW_SAMPLES // VAD_WINDOW  # the model's 8 s
_IDLE_RESET_WINDOWS = 2000 // WINDOW_MS  # Silero drifts over long non-speech (pipecat's reset)


@dataclass(frozen=True)
class Started:
    """The user started speaking; `preroll` is the audio just before, to send first."""

    preroll: bytes


@dataclass(frozen=True)
class Ended:
    """The user's turn is over after `silence_ms` of silence; `probability` is the
    model's verdict, None when the maximum silence ended it."""

    silence_ms: int
    probability: float | None


TurnEvent = Started | Ended | bytes


class TurnDetector:
    """Feed 16 kHz PCM16 chunks of any size to `process`; it returns, in order, `Started`,
    the utterance's audio (bytes, from the start to its end) and `Ended`. Not thread-safe:
    one call at a time per stream."""

    def __init__(
        self,
        models: TurnModels,
        settings: TurnSettings,
        *,
        speculate_ms: int = SPECULATE_MS,
        silence_p: float = SILENCE_P,
        assumed_silence_ms: int = ASSUMED_SILENCE_MS,
    ) -> None:
        """`speculate_ms`, `silence_p` and `assumed_silence_ms` are for the benchmark's
        sweeps (bench/turn_detection.py); the product uses the defaults."""
        self._models = models
        self._settings = settings
        self._speculate_windows = max(1, -(-speculate_ms // WINDOW_MS))
        self._silence_p = silence_p
        self._assumed_silence = assumed_silence_ms * SAMPLE_RATE // 1000
        self._short_windows = -(-settings.short_silence_ms // WINDOW_MS)
        self._state = SileroState()
        self._pending = b""
        self._recent: collections.deque[bytes] = collections.deque(maxlen=_PREROLL_WINDOWS)
        self._flags: collections.deque[bool] = collections.deque(maxlen=START_OF)
        self._utterance: collections.deque[bytes] = collections.deque(maxlen=_MAX_UTTERANCE_WINDOWS)
        self._in_speech = False
        self._silent = 0  # windows of silence since the last speech
        self._verdict: float | None = None  # the model's, for this pause
        self._idle = 0
        self.cpu_s = 0.0  # thread CPU spent in `process`
        self.judgements = 0

    @property
    def in_speech(self) -> bool:
        return self._in_speech

    def process(self, pcm: bytes) -> list[TurnEvent]:
        started = time.thread_time()
        data = self._pending + pcm if self._pending else pcm
        step = 2 * VAD_WINDOW
        n = len(data) // step
        out: list[TurnEvent] = []
        speech = bytearray()
        for i in range(n):
            window = data[i * step : (i + 1) * step]
            event = self._window(window)
            # The window that starts an utterance is the end of its preroll.
            if (self._in_speech or isinstance(event, Ended)) and not isinstance(event, Started):
                speech += window
            if event is not None:
                if speech and isinstance(event, Ended):
                    out.append(bytes(speech))
                    speech.clear()
                out.append(event)
        if speech:
            out.append(bytes(speech))
        self._pending = data[n * step :]
        self.cpu_s += time.thread_time() - started
        return out

    def flush(self) -> bool:
        """The microphone went off: forget the utterance; whether one was in progress."""
        was = self._in_speech
        self._end()
        self._pending = b""
        self._recent.clear()
        return was

    def _window(self, window: bytes) -> Started | Ended | None:
        samples: F32 = np.frombuffer(window, dtype="<i2").astype(np.float32) / 32768.0
        p = self._models.speech_probability(samples, self._state)
        if not self._in_speech:
            self._recent.append(window)
            self._flags.append(p >= SPEECH_P)
            if sum(self._flags) >= START_WINDOWS:
                return self._start()
            self._idle += 1
            if self._idle >= _IDLE_RESET_WINDOWS and p < SILENCE_P:
                self._state.reset()
                self._idle = 0
            return None
        self._utterance.append(window)
        if p >= self._silence_p:
            self._silent = 0
            self._verdict = None
            return None
        self._silent += 1
        silence_ms = self._silent * WINDOW_MS
        if silence_ms >= self._settings.max_silence_ms:
            self._end()
            return Ended(silence_ms, None)
        if self._verdict is None and self._silent >= min(
            self._speculate_windows, self._short_windows
        ):
            heard = np.frombuffer(b"".join(self._utterance), dtype="<i2")
            padding = max(0, self._assumed_silence - self._silent * VAD_WINDOW)
            audio: F32 = np.pad(heard, (0, padding)).astype(np.float32) / np.float32(32768)
            self._verdict = self._models.end_probability(audio)
            self.judgements += 1
        if (
            silence_ms >= self._settings.short_silence_ms
            and self._verdict is not None
            and self._verdict >= self._settings.threshold
        ):
            probability = self._verdict
            self._end()
            return Ended(silence_ms, probability)
        return None

    def _start(self) -> Started:
        preroll = b"".join(self._recent)
        self._utterance.clear()
        self._utterance.extend(self._recent)
        self._recent.clear()
        self._flags.clear()
        self._in_speech = True
        self._silent = 0
        self._verdict = None
        return Started(preroll)

    def _end(self) -> None:
        self._in_speech = False
        self._utterance.clear()
        self._flags.clear()
        self._silent = 0
        self._verdict = None
        self._idle = 0
