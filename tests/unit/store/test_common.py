"""Shared encodings: sort keys order like (timestamp, id); days; ids both backends accept."""

from __future__ import annotations

import datetime as dt

import pytest

from liveavatar.store import retention_cutoff
from liveavatar.store._common import (
    check_id,
    day_range,
    day_str,
    end_marker,
    from_us,
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
