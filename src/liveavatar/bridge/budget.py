"""How fast a browser may send microphone audio: a token bucket in bytes."""

from __future__ import annotations

# Audio may average at most twice real time. The burst allowance is large because frames
# that queued up while this process was busy arrive back to back: a stall must not look
# like a flood.
AUDIO_BUDGET_BYTES_PER_S = 2 * 32_000
AUDIO_BURST_BYTES = 10 * 32_000


class AudioBudget:
    """Admits audio frames up to a rate with a burst; `admit` is O(1) and allocation-free."""

    def __init__(
        self,
        now: float,
        *,
        rate_bytes_per_s: float = AUDIO_BUDGET_BYTES_PER_S,
        burst_bytes: float = AUDIO_BURST_BYTES,
    ) -> None:
        self._rate = rate_bytes_per_s
        self._burst = burst_bytes
        self._tokens = burst_bytes
        self._at = now
        self.dropped = 0

    def admit(self, size: int, now: float) -> bool:
        """Whether a frame of `size` bytes arriving at `now` (seconds) is within budget."""
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if size > self._tokens:
            self.dropped += 1
            return False
        self._tokens -= size
        return True
