"""How many JSON frames a browser may send: a per-session token bucket.

Every JSON frame costs the backend a parse and usually an answer (`pong`, an error) in
the outbox's control lane; a page flooding `ping` would otherwise fill that lane. The
real page sends about one `video_frame` a second, a `ping` every 15 s and typed text, so
the limit is several times that, with a burst big enough for a minute of frames the
browser held back during a network stall. Audio frames are binary and budgeted apart
(budget.py).

Frames beyond the rate are dropped unanswered; the browser is told at most once a
NOTICE_INTERVAL_S. A flood that goes on (more than MAX_DROPPED frames dropped before the
bucket has refilled) is a protocol violation and ends the session.
"""

from __future__ import annotations

import enum

from liveavatar.errors import Flooding

RATE_PER_S = 5.0
"""Sustained JSON frames per second."""

BURST = 60
"""JSON frames that may arrive at once after a quiet spell."""

MAX_DROPPED = 100
"""Frames dropped in one flood before the session is closed."""

NOTICE_INTERVAL_S = 1.0

NOTICE = "Messages are arriving too fast; some were dropped."


class Verdict(enum.Enum):
    PASS = "pass"  # handle the frame
    DROP = "drop"  # drop it silently
    DROP_AND_TELL = "drop_and_tell"  # drop it and send the browser NOTICE


class FloodGate:
    """A token bucket over one session's JSON frames (not thread-safe; one reader task)."""

    def __init__(
        self,
        now: float,
        *,
        rate_per_s: float = RATE_PER_S,
        burst: int = BURST,
        max_dropped: int = MAX_DROPPED,
    ) -> None:
        self._rate = rate_per_s
        self._burst = float(burst)
        self._max_dropped = max_dropped
        self._tokens = float(burst)
        self._at = now
        self._dropped = 0  # in the current flood
        self._told_at = float("-inf")

    def admit(self, now: float) -> Verdict:
        """Account for one JSON frame arriving at `now` (the event loop's clock).

        Raises:
            Flooding: more than `max_dropped` frames dropped since the bucket was last full.
        """
        if now > self._at:
            self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
            self._at = now
        if self._tokens >= self._burst:
            # A full bucket means the sender slowed down: earlier drops are forgiven.
            self._dropped = 0
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return Verdict.PASS
        self._dropped += 1
        if self._dropped > self._max_dropped:
            raise Flooding("Too many messages, too fast.")
        if now - self._told_at >= NOTICE_INTERVAL_S:
            self._told_at = now
            return Verdict.DROP_AND_TELL
        return Verdict.DROP
