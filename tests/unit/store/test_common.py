"""Shared encodings: sort keys order like (timestamp, id); days; ids both backends accept."""

from __future__ import annotations

import datetime as dt

import pytest

from liveavatar.store import DailyLatency, retention_cutoff
from liveavatar.store._common import (
    MAX_COUNTERS,
    MAX_SEARCH_TEXT,
    check_id,
    counter_values,
    daily_latency,
    day_range,
    day_str,
    end_marker,
    from_us,
    percentile,
    search_needle,
    sort_key,
    to_us,
    utc,
)

T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)


def test_sort_keys_order_like_timestamp_then_id() -> None:
    items = [
        (T0, "b"),
        (T0, "a"),
        (T0 + dt.timedelta(microseconds=1), "a"),
        (T0 - dt.timedelta(days=400), "zzz"),
        (T0, "ab"),
    ]
    assert sorted(items) == sorted(items, key=lambda t: sort_key(*t))


def test_a_bare_timestamp_key_is_before_every_key_at_that_instant() -> None:
    assert sort_key(T0) < sort_key(T0, "")
    assert sort_key(T0) < sort_key(T0, "a")
    assert sort_key(T0 - dt.timedelta(microseconds=1), "~~~") < sort_key(T0)


def test_times_round_trip_at_microsecond_precision() -> None:
    at = dt.datetime(2024, 5, 1, 14, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert from_us(to_us(at)) == at
    assert from_us(to_us(at)).tzinfo == dt.UTC
    with pytest.raises(ValueError):
        utc(dt.datetime(2024, 5, 1))


def test_days() -> None:
    assert day_str("2024-05-01") == day_str(dt.date(2024, 5, 1)) == "2024-05-01"
    late_evening_west = dt.datetime(2024, 4, 30, 22, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert day_str(late_evening_west) == "2024-05-01"  # the UTC day
    assert day_range("2024-02-28", "2024-03-01") == ["2024-02-28", "2024-02-29", "2024-03-01"]
    assert day_range("2024-03-01", "2024-02-28") == []
    for bad in ("2024-5-1x", "yesterday"):
        with pytest.raises(ValueError):
            day_str(bad)
    with pytest.raises(ValueError):
        day_range("2000-01-01", "2024-01-01")


@pytest.mark.parametrize("bad", ["", "a/b", ".", "..", "__x__", "x" * 1501])
def test_ids_both_backends_can_store(bad: str) -> None:
    with pytest.raises(ValueError):
        check_id(bad)
    assert check_id("session-1:abc") == "session-1:abc"


def test_end_markers() -> None:
    assert end_marker("") == "ended"  # the id every end had before parts
    assert end_marker("1714564800000000") == "ended-1714564800000000"
    for bad in ("a/b", "x" * 1500):
        with pytest.raises(ValueError):
            end_marker(bad)


def test_retention_cutoff() -> None:
    assert retention_cutoff(90, T0) == T0 - dt.timedelta(days=90)
    with pytest.raises(ValueError):
        retention_cutoff(0, T0)


def test_nearest_rank_percentiles() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 50) == percentile([7.0], 95) == 7.0
    values = [float(v) for v in range(1, 21)]  # 1..20, given out of order below
    shuffled = values[::2] + values[1::2]
    # rank ceil(p/100 * n): 10th and 19th of 20 (not 20th: the rank is exact, no float drift)
    assert percentile(shuffled, 50) == 10.0
    assert percentile(shuffled, 95) == 19.0
    assert percentile(shuffled, 100) == 20.0
    assert percentile(shuffled, 1) == 1.0
    assert percentile([1.0, 2.0, 3.0], 50) == 2.0  # ceil(1.5) = 2
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0  # ceil(2.0) = 2, never interpolated
    assert percentile([5.0, 1.0], 95) == 5.0
    for p in (0, -1, 100.5):
        with pytest.raises(ValueError):
            percentile(values, p)


def test_daily_latency_groups_by_day_and_fills_the_rest() -> None:
    days = ["2024-05-01", "2024-05-02"]
    rows = [("2024-05-01", 100.0, 400.0), ("2024-05-01", None, 200.0), ("2024-04-30", 1.0, 1.0)]
    first, second = daily_latency(days, rows)
    assert (first.turns, first.ttfa_p50_ms, first.ttfa_p95_ms) == (2, 100.0, 100.0)
    assert (first.latency_p50_ms, first.latency_p95_ms) == (200.0, 400.0)
    assert second == DailyLatency(date="2024-05-02")


def test_counter_names_and_values_are_checked() -> None:
    assert counter_values(None) == {} == counter_values({})
    assert counter_values({"live.reconnect": 2, "error.x-y_z": 0}) == {"live.reconnect": 2}
    assert counter_values({"a": True}) == {"a": 1}
    for bad in ({"": 1}, {"-a": 1}, {"a b": 1}, {"a" * 65: 1}, {"a": -1}, {"a": 1.5}):
        with pytest.raises(ValueError):
            counter_values(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        counter_values({f"c{n}": 1 for n in range(MAX_COUNTERS + 1)})


def test_search_text_is_folded_and_bounded() -> None:
    assert search_needle(None) is None and search_needle("") is None
    assert search_needle("ÉTÉ Straße") == "été strasse"
    assert search_needle("x" * MAX_SEARCH_TEXT) == "x" * MAX_SEARCH_TEXT
    with pytest.raises(ValueError):
        search_needle("x" * (MAX_SEARCH_TEXT + 1))
