"""Overview: what happened per day (sessions, latency, minutes, errors, tokens, cost), the
audio/video offset over the dates, and how many sessions run right now."""

from __future__ import annotations

import datetime as dt
import urllib.error
import urllib.request
from dataclasses import dataclass

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from liveavatar.dashboard import analytics
from liveavatar.dashboard.context import DashboardContext, get_context
from liveavatar.dashboard.freshness import bucket, freshness_bar
from liveavatar.media import http_base_url
from liveavatar.store.av_offset import AvOffset
from liveavatar.store.day_totals import DailyLatency, DailyMetrics, UserDay

DEFAULT_DAYS = 14
EMPTY = (
    "No conversations in these dates yet. Have a conversation on the page (`make run`, "
    "then open the frontend), then refresh."
)
_MAX_METRICS_BYTES = 1 << 20


@dataclass(frozen=True)
class OverviewData:
    days: list[DailyMetrics]
    latency: list[DailyLatency]
    user_days: list[UserDay]
    av_offset: AvOffset


@st.cache_data(show_spinner=False, max_entries=64, ttl=3600)
def _load(_ctx: DashboardContext, key: str, start: str, end: str, period: int) -> OverviewData:
    store = _ctx.store
    return OverviewData(
        days=_ctx.run(store.list_daily(start, end)),
        latency=_ctx.run(store.daily_latency(start, end)),
        user_days=_ctx.run(store.list_user_days(start, end)),
        av_offset=_ctx.run(store.av_offset(start, end)),
    )


def load(ctx: DashboardContext, start: dt.date, end: dt.date) -> OverviewData:
    """The range's figures, cached for at most `ctx.cache_s` seconds."""
    return _load(ctx, ctx.key, start.isoformat(), end.isoformat(), bucket(ctx.cache_s))


def active_sessions_now(ctx: DashboardContext) -> int | None:
    """The backend's active-sessions gauge, or None when /metrics does not answer."""
    url = http_base_url(ctx.settings.backend_url) + "/metrics"
    try:
        with urllib.request.urlopen(url, timeout=ctx.settings.dashboard_metrics_timeout_s) as r:
            text = r.read(_MAX_METRICS_BYTES).decode("utf-8", "replace")
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return analytics.active_sessions(text)


def _picked_range(today: dt.date) -> tuple[dt.date, dt.date]:
    default = (today - dt.timedelta(days=DEFAULT_DAYS - 1), today)
    picked = st.date_input("Dates (UTC)", value=default, max_value=today, key="overview_dates")
    if isinstance(picked, tuple) and len(picked) == 2:
        return picked[0], picked[1]
    # Half-picked (one end clicked so far): show that single day.
    if isinstance(picked, tuple) and picked:
        return picked[0], picked[0]
    if isinstance(picked, dt.date):
        return picked, picked
    return default


def render() -> None:
    """Draw the Overview."""
    st.title("Overview")
    ctx = get_context()
    today = dt.datetime.now(dt.UTC).date()
    start, end = _picked_range(today)
    freshness_bar(ctx.cache_s, key="overview_refresh", clear=_load.clear)
    data = load(ctx, start, end)
    t = analytics.totals(data.days)

    now = active_sessions_now(ctx)
    row = st.columns(4)
    if now is None:
        row[0].metric("Active sessions now", "n/a")
        row[0].caption(":orange[Backend not reachable]")
    else:
        row[0].metric("Active sessions now", now)
    row[1].metric("Sessions", t.sessions)
    row[2].metric("Conversation minutes", f"{t.minutes:.1f}")
    row[3].metric("Estimated cost (USD)", f"{t.cost_usd:.4f}")
    row = st.columns(4)
    row[0].metric("Turns", t.turns)
    row[1].metric("Errors", t.errors)
    row[2].metric("Live reconnects / rotations", f"{t.reconnects} / {t.rotations}")
    row[3].metric("Tokens", f"{t.tokens:,}")

    if t.empty:
        st.info(EMPTY)
        return
    _charts(data)


def _charts(data: OverviewData) -> None:
    activity = analytics.activity_frame(data.days)
    latency = analytics.latency_frame(data.latency)
    tokens = analytics.tokens_frame(data.days)
    events = analytics.events_frame(data.days)
    per_user = analytics.per_user_frame(data.user_days)

    left, right = st.columns(2)
    left.subheader("Sessions per day")
    left.bar_chart(activity[["sessions"]], y_label="sessions")
    right.subheader("Conversation minutes per day")
    right.bar_chart(activity[["minutes"]], y_label="minutes")
    left, right = st.columns(2)
    left.subheader("Latency per day (ms)")
    left.line_chart(latency, y_label="ms")
    left.caption("Time to first audio: from the end of the user's speech to the first audio.")
    _av_offset(left, data.av_offset)
    right.subheader("Tokens by modality per day")
    right.bar_chart(tokens, y_label="tokens")
    left, right = st.columns(2)
    left.subheader("Live reconnects, rotations and errors per day")
    left.bar_chart(events, y_label="count")
    right.subheader("Estimated cost per day (USD)")
    right.bar_chart(activity[["cost_usd"]], y_label="USD")

    st.subheader("Estimated cost per user")
    st.dataframe(per_user)
    errors = analytics.errors_by_kind(data.days)
    if errors:
        st.subheader("Errors by kind")
        st.table({"kind": list(errors), "count": list(errors.values())})
    with st.expander("Daily figures"):
        st.dataframe(activity.join(latency).join(tokens).join(events))


def av_offset_text(offset: AvOffset) -> str:
    """p50 / p95 of the period's A/V offsets, signed, or n/a without any."""
    if offset.p50_ms is None or offset.p95_ms is None:
        return "n/a"
    return f"{offset.p50_ms:+.1f} / {offset.p95_ms:+.1f} ms"


def _av_offset(column: DeltaGenerator, offset: AvOffset) -> None:
    column.metric("A/V offset p50 / p95", av_offset_text(offset))
    column.caption(
        f"Over the {offset.answers} answers of these dates whose page measured it: how far "
        "the drawn avatar's mouth trails the voice as heard (+ = audio ahead of the mouth; "
        "target within ±20 ms at p50). Answers with clips or the native avatar have none."
    )
