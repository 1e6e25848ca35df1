"""The Overview's figures from hand-made daily totals."""

from __future__ import annotations

import math

from liveavatar.dashboard import analytics
from liveavatar.store.day_totals import DailyLatency, DailyMetrics, UserDay

DAYS = [
    DailyMetrics(
        date="2026-01-01",
        total_sessions=2,
        total_turns=5,
        duration_s_sum=90,
        error_count=3,
        input_audio_tokens=10,
        output_text_tokens=4,
        thoughts_tokens=1,
        cost_usd=0.5,
        counters={"live.reconnect": 2, "error.quota": 1, "error.live_unavailable": 2},
    ),
    DailyMetrics(date="2026-01-02", counters={"live.rotation": 1, "error.quota": 4}),
]


def test_totals() -> None:
    t = analytics.totals(DAYS)
    assert (t.sessions, t.turns, t.minutes, t.errors) == (2, 5, 1.5, 3)
    assert (t.reconnects, t.rotations, t.tokens, t.cost_usd) == (2, 1, 15, 0.5)
    assert not t.empty
    assert analytics.totals([DailyMetrics(date="2026-01-03")]).empty


def test_frames() -> None:
    events = analytics.events_frame(DAYS)
    assert list(events.columns) == [
        "reconnects",
        "rotations",
        "error.live_unavailable",
        "error.quota",
    ]
    assert list(events["error.quota"]) == [1, 4]
    assert list(analytics.tokens_frame(DAYS)["input audio"]) == [10, 0]
    assert list(analytics.activity_frame(DAYS)["minutes"]) == [1.5, 0.0]
    assert analytics.errors_by_kind(DAYS) == {"quota": 5, "live_unavailable": 2}


def test_latency_frame_keeps_missing_days_empty() -> None:
    frame = analytics.latency_frame(
        [
            DailyLatency(date="2026-01-01", turns=1, latency_p50_ms=10, latency_p95_ms=20),
            DailyLatency(date="2026-01-02"),
        ]
    )
    assert list(frame["turn p95"])[0] == 20
    assert math.isnan(list(frame["turn p50"])[1])
    assert math.isnan(list(frame["first audio p50"])[0])


def test_per_user_sums_days_and_sorts_by_cost() -> None:
    frame = analytics.per_user_frame(
        [
            UserDay(user_id="b", date="2026-01-01", seconds=60, cost_usd=0.1),
            UserDay(user_id="a", date="2026-01-01", seconds=30, cost_usd=0.1),
            UserDay(user_id="b", date="2026-01-02", seconds=60, cost_usd=0.2),
        ]
    )
    assert list(frame.index) == ["b", "a"]
    assert list(frame["minutes"]) == [2.0, 0.5]


def test_active_sessions_from_prometheus_text() -> None:
    text = (
        "# HELP liveavatar_active_sessions Browser sessions currently connected\n"
        "# TYPE liveavatar_active_sessions gauge\n"
        "liveavatar_active_sessions_total 9\n"
        "liveavatar_active_sessions 7.0\n"
    )
    assert analytics.active_sessions(text) == 7
    assert analytics.active_sessions("other_metric 1\n") is None
    assert analytics.active_sessions("liveavatar_active_sessions NaN\n") is None
