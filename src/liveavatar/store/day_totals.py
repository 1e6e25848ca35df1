"""The store's day totals: each UTC day's sums and event counters, its latency
percentiles, and each user's talk time and cost on it (what the dashboard's Overview reads).

Averages are never stored: the day keeps sums and counts, so every update is an atomic
increment, and the averages are derived from them on read.
"""

from __future__ import annotations

from pydantic import Field, computed_field

from liveavatar.store._frozen import Frozen, average
from liveavatar.store.models import TokenSums

# Names of the day's event counters (`DailyMetrics.counters`). Errors are counted by kind
# as "error.<code>", the code being the browser protocol's error code (e.g.
# "error.live_unavailable"); a kind is any name of letters, digits, ".", "_" and "-".
COUNTER_LIVE_RECONNECT = "live.reconnect"  # a Live connection lost and opened again
COUNTER_LIVE_ROTATION = "live.rotation"  # a planned switch at goAway / the lifetime limit
ERROR_COUNTER_PREFIX = "error."
COUNTER_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class DailyMetrics(Frozen, TokenSums):
    """One UTC day's totals. Averages divide the stored sums by their own counts.

    `counters` holds the day's event counts by name (see `COUNTER_*` above): Live
    reconnects and rotations, and errors by kind.
    """

    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    total_sessions: int = 0
    total_turns: int = 0
    latency_ms_sum: float = 0.0
    latency_count: int = 0
    duration_s_sum: float = 0.0
    ended_sessions: int = 0
    error_count: int = 0
    prompt_tokens: int = 0
    response_tokens: int = 0
    counters: dict[str, int] = {}

    @computed_field  # type: ignore[prop-decorator]
    @property
    def avg_latency_ms(self) -> float:
        return average(self.latency_ms_sum, self.latency_count)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def avg_duration_s(self) -> float:
        return average(self.duration_s_sum, self.ended_sessions)


class DailyLatency(Frozen):
    """One UTC day's latency percentiles over its stored turns (exact, not estimated).

    Time to first audio counts only turns that produced audio; `None` where the day has no
    such turn (or no turn at all).
    """

    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    turns: int = 0
    ttfa_p50_ms: float | None = None
    ttfa_p95_ms: float | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None


class UserDay(Frozen):
    """One user's talk time and estimated cost on one UTC day."""

    user_id: str
    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    seconds: float = 0.0
    cost_usd: float = 0.0


__all__ = [
    "COUNTER_LIVE_RECONNECT",
    "COUNTER_LIVE_ROTATION",
    "COUNTER_NAME_PATTERN",
    "ERROR_COUNTER_PREFIX",
    "DailyLatency",
    "DailyMetrics",
    "UserDay",
]
