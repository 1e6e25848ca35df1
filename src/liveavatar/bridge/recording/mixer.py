"""Both sides of a conversation laid on one timeline, as the user heard it.

Left is the user's microphone, right the model's voice, both at the recording's rate.
Times are seconds since the recording started, taken when each piece reached the bridge.

- The model's audio goes on a playback cursor: at its arrival, or right after the model
  audio before it if that is still playing (the page queues it the same way). When the
  model is interrupted, what was scheduled after that instant is dropped: the page drops
  its queue too, so nobody heard it.
- The microphone's audio is placed by arrival: a frame ends when it arrived, give or take
  `jitter_s`, within which frames are laid end to end. A frame that comes later than that
  starts a new stretch after a silence (the page paused its microphone). Frames that come
  in a burst after a network stall go end to end after the ones before; the lag this
  leaves is won back by dropping quiet frames until the track is on time again, so speech
  is never cut to realign.
- Nothing is ever placed before what was already handed out (`take`): audio later than
  `hold_s` is moved to the first open instant.

Memory is what is not final yet: about `hold_s` of microphone, and the model audio
scheduled ahead of now, capped at `ahead_cap_s` (the rest is dropped and counted).
Not thread-safe: one owner at a time (the recording's worker thread).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import soxr

Pcm = npt.NDArray[np.int16]

HOLD_S = 0.5
JITTER_S = 0.12
AHEAD_CAP_S = 60.0
# A microphone frame whose peak stays below this (about -36 dBFS) holds no speech worth
# keeping when the track needs to catch up.
QUIET_PEAK = 500


@dataclass
class _Track:
    """One channel: placed pieces (start sample, samples), in order, not overlapping."""

    pieces: deque[tuple[int, Pcm]] = field(default_factory=deque)
    cursor: int = 0  # where the last placed piece ends
    held: int = 0  # samples held

    def place(self, start: int, samples: Pcm) -> None:
        if not len(samples):
            return
        self.pieces.append((start, samples))
        self.cursor = start + len(samples)
        self.held += len(samples)

    def cut(self, at: int) -> int:
        """Drop everything from sample `at` on; returns how many samples were dropped."""
        dropped = 0
        while self.pieces and self.pieces[-1][0] >= at:
            dropped += len(self.pieces.pop()[1])
        if self.pieces:
            start, samples = self.pieces[-1]
            keep = at - start
            if keep < len(samples):
                dropped += len(samples) - keep
                self.pieces[-1] = (start, samples[:keep])
        self.held -= dropped
        self.cursor = min(self.cursor, max(at, 0))
        if self.pieces:
            self.cursor = max(self.cursor, self.pieces[-1][0] + len(self.pieces[-1][1]))
        return dropped

    def render(self, out: Pcm, lo: int, hi: int) -> None:
        """Copy [lo, hi) into `out` (zeros elsewhere) and forget it."""
        while self.pieces:
            start, samples = self.pieces[0]
            if start >= hi:
                return
            end = start + len(samples)
            a, b = max(start, lo), min(end, hi)
            if b > a:
                out[a - lo : b - lo] = samples[a - start : b - start]
            if end <= hi:
                self.pieces.popleft()
                self.held -= len(samples)
            else:
                self.pieces[0] = (hi, samples[hi - start :])
                self.held -= hi - start
                return


class _Resampler:
    """A streaming resampler (state kept across chunks), or nothing at equal rates."""

    def __init__(self, in_rate: int, out_rate: int) -> None:
        self._stream = (
            None if in_rate == out_rate else soxr.ResampleStream(in_rate, out_rate, 1, "int16")
        )

    def __call__(self, samples: Pcm) -> Pcm:
        if self._stream is None:
            return samples
        out: Pcm = self._stream.resample_chunk(samples)
        return out


@dataclass
class MixerStats:
    """What the mixer dropped, in seconds of audio at the recording's rate."""

    model_over_cap_s: float = 0.0
    model_interrupted_s: float = 0.0
    mic_skipped_quiet_s: float = 0.0


class StereoMixer:
    """Lays microphone and model audio on one timeline; hands out final stereo frames."""

    def __init__(
        self,
        *,
        rate: int = 24_000,
        mic_rate: int = 16_000,
        model_rate: int = 24_000,
        hold_s: float = HOLD_S,
        jitter_s: float = JITTER_S,
        ahead_cap_s: float = AHEAD_CAP_S,
    ) -> None:
        self.rate = rate
        self._mic_rate = mic_rate
        self._mic_in = _Resampler(mic_rate, rate)
        self._model_in = _Resampler(model_rate, rate)
        self._mic = _Track()
        self._model = _Track()
        self._hold = round(hold_s * rate)
        self._jitter = round(jitter_s * rate)
        self._ahead_cap = round(ahead_cap_s * rate)
        self._done = 0  # samples handed out so far: the timeline before is final
        self.stats = MixerStats()

    def _at(self, t: float) -> int:
        return max(0, round(t * self.rate))

    @property
    def held_samples(self) -> int:
        """Samples held for both channels (the memory that grows with the window)."""
        return self._mic.held + self._model.held

    def mic(self, t: float, pcm: bytes) -> None:
        """A microphone frame (PCM16 LE at `mic_rate`) that arrived at `t`."""
        raw = np.frombuffer(pcm, dtype="<i2").astype(np.int16, copy=False)
        samples = self._mic_in(raw)
        track = self._mic
        natural = self._at(t) - round(len(raw) * self.rate / self._mic_rate)
        if natural > track.cursor + self._jitter:
            start = natural  # the microphone paused: a silence, then this
        else:
            late = track.cursor - natural
            if late > self._jitter and (not len(raw) or int(np.abs(raw).max()) < QUIET_PEAK):
                self.stats.mic_skipped_quiet_s += len(samples) / self.rate
                return  # catching up after a burst, on a frame without speech
            start = track.cursor
        track.place(max(start, self._done), samples)

    def model(self, t: float, pcm: bytes) -> None:
        """A chunk of the model's voice (PCM16 LE at `model_rate`) that arrived at `t`."""
        samples = self._model_in(np.frombuffer(pcm, dtype="<i2").astype(np.int16, copy=False))
        track = self._model
        now = self._at(t)
        start = max(now, track.cursor, self._done)
        room = now + self._ahead_cap - start
        if room < len(samples):
            kept = max(0, room)
            self.stats.model_over_cap_s += (len(samples) - kept) / self.rate
            samples = samples[:kept]
        track.place(start, samples)

    def interrupt(self, t: float) -> None:
        """The model was interrupted at `t`: its audio scheduled from then on is dropped."""
        dropped = self._model.cut(max(self._at(t), self._done))
        self.stats.model_interrupted_s += dropped / self.rate

    def take(self, t: float) -> Pcm:
        """Stereo frames (n, 2) that can no longer change as of `t`: up to `t - hold_s`."""
        return self._render(self._at(t) - self._hold)

    def finish(self, t: float) -> Pcm:
        """Everything left, the session having ended at `t`: the model audio scheduled
        after that was never heard; the microphone's last frames are kept."""
        end = self._at(t)
        self.interrupt(t)
        return self._render(max(end, self._mic.cursor))

    def _render(self, upto: int) -> Pcm:
        lo = self._done
        if upto <= lo:
            return np.zeros((0, 2), dtype=np.int16)
        out = np.zeros((upto - lo, 2), dtype=np.int16)
        self._mic.render(out[:, 0], lo, upto)
        self._model.render(out[:, 1], lo, upto)
        self._done = upto
        return out
