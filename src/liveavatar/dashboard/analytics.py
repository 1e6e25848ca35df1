"""The Overview's figures, computed from the store's daily totals (no Streamlit here).

Every chart draws one of these frames, and the page shows the same frames as tables, so
what an operator reads off a chart is exactly what was stored.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd  # type: ignore[import-untyped]

from liveavatar.store.day_totals import (
    COUNTER_LIVE_RECONNECT,
    COUNTER_LIVE_ROTATION,
    ERROR_COUNTER_PREFIX,
    DailyLatency,
    DailyMetrics,
    UserDay,
)

# The Prometheus gauge the backend exports (`liveavatar.metrics.Metrics.active_sessions`).
ACTIVE_SESSIONS_METRIC = "liveavatar_active_sessions"
_SAMPLE = re.compile(r"^([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?\s+(\S+)")

# Token usage by modality: (DailyMetrics field, label on the chart).
MODALITIES: tuple[tuple[str, str], ...] = (
    ("input_audio_tokens", "input audio"),
    ("input_text_tokens", "input text"),
    ("input_video_tokens", "input video"),
    ("output_audio_tokens", "output audio"),
    ("output_text_tokens", "output text"),
    ("thoughts_tokens", "thoughts"),
)


@dataclass(frozen=True)
class Totals:
    """The range's totals, shown as metrics above the charts."""

    sessions: int
    turns: int
    minutes: float
    errors: int
    reconnects: int
    rotations: int
    tokens: int
    cost_usd: float

    @property
    def empty(self) -> bool:
        return self.sessions == 0 and self.turns == 0 and self.minutes == 0


def totals(days: Sequence[DailyMetrics]) -> Totals:
    """Sum the days' totals."""
    return Totals(
        sessions=sum(d.total_sessions for d in days),
        turns=sum(d.total_turns for d in days),
        minutes=sum(d.duration_s_sum for d in days) / 60,
        errors=sum(d.error_count for d in days),
        reconnects=sum(d.counters.get(COUNTER_LIVE_RECONNECT, 0) for d in days),
        rotations=sum(d.counters.get(COUNTER_LIVE_ROTATION, 0) for d in days),
        tokens=sum(sum(getattr(d, f) for f, _ in MODALITIES) for d in days),
        cost_usd=sum(d.cost_usd for d in days),
    )


def activity_frame(days: Sequence[DailyMetrics]) -> pd.DataFrame:
    """Per day: sessions started, turns, conversation minutes, estimated cost (USD)."""
    return pd.DataFrame(
        {
            "sessions": [d.total_sessions for d in days],
            "turns": [d.total_turns for d in days],
            "minutes": [d.duration_s_sum / 60 for d in days],
            "cost_usd": [d.cost_usd for d in days],
        },
        index=pd.Index([d.date for d in days], name="date"),
    )


def latency_frame(days: Sequence[DailyLatency]) -> pd.DataFrame:
    """Per day: p50 and p95 of time to first audio and of turn latency (ms; empty: NaN)."""
    columns = {
        "first audio p50": [d.ttfa_p50_ms for d in days],
        "first audio p95": [d.ttfa_p95_ms for d in days],
        "turn p50": [d.latency_p50_ms for d in days],
        "turn p95": [d.latency_p95_ms for d in days],
    }
    return pd.DataFrame({k: pd.Series(v, dtype="float64") for k, v in columns.items()}).set_axis(
        pd.Index([d.date for d in days], name="date")
    )


def tokens_frame(days: Sequence[DailyMetrics]) -> pd.DataFrame:
    """Per day: tokens by modality."""
    return pd.DataFrame(
        {label: [getattr(d, field) for d in days] for field, label in MODALITIES},
        index=pd.Index([d.date for d in days], name="date"),
    )


def events_frame(days: Sequence[DailyMetrics]) -> pd.DataFrame:
    """Per day: Live reconnects, rotations, and errors by kind (one column per kind seen)."""
    kinds = sorted({k for d in days for k in d.counters if k.startswith(ERROR_COUNTER_PREFIX)})
    data: dict[str, list[int]] = {
        "reconnects": [d.counters.get(COUNTER_LIVE_RECONNECT, 0) for d in days],
        "rotations": [d.counters.get(COUNTER_LIVE_ROTATION, 0) for d in days],
    }
    for kind in kinds:
        data[kind] = [d.counters.get(kind, 0) for d in days]
    return pd.DataFrame(data, index=pd.Index([d.date for d in days], name="date"))


def errors_by_kind(days: Sequence[DailyMetrics]) -> dict[str, int]:
    """The range's error counts by kind ("error." stripped), largest first."""
    counts: dict[str, int] = defaultdict(int)
    for d in days:
        for name, n in d.counters.items():
            if name.startswith(ERROR_COUNTER_PREFIX):
                counts[name.removeprefix(ERROR_COUNTER_PREFIX)] += n
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def per_user_frame(user_days: Sequence[UserDay]) -> pd.DataFrame:
    """Per user over the range: talk minutes and estimated cost, the costliest first."""
    minutes: dict[str, float] = defaultdict(float)
    cost: dict[str, float] = defaultdict(float)
    for u in user_days:
        minutes[u.user_id] += u.seconds / 60
        cost[u.user_id] += u.cost_usd
    users = sorted(minutes, key=lambda uid: (-cost[uid], uid))
    return pd.DataFrame(
        {"minutes": [minutes[u] for u in users], "cost_usd": [cost[u] for u in users]},
        index=pd.Index(users, name="user"),
    )


def active_sessions(prometheus_text: str) -> int | None:
    """The backend's active-sessions gauge from its /metrics text, or None if absent."""
    for line in prometheus_text.splitlines():
        match = _SAMPLE.match(line)
        if match and match.group(1) == ACTIVE_SESSIONS_METRIC:
            try:
                return int(float(match.group(3)))
            except ValueError:
                return None
    return None
