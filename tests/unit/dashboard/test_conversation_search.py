from __future__ import annotations

import datetime as dt

from liveavatar.dashboard.conversation_search import MAX_TEXT_CHARS, SearchFilter


def test_blank_widgets_do_not_filter() -> None:
    f = SearchFilter.from_form("  ", None, " ")
    assert f == SearchFilter()
    assert (f.start, f.end) == (None, None)


def test_the_day_range_is_inclusive_in_utc() -> None:
    f = SearchFilter.from_form("alice", (dt.date(2026, 3, 2), dt.date(2026, 3, 1)), " hi ")
    assert (f.user_id, f.text) == ("alice", "hi")
    assert f.start == dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    assert f.end == dt.datetime(2026, 3, 3, tzinfo=dt.UTC)


def test_one_day_and_a_half_picked_range() -> None:
    one = SearchFilter.from_form("", dt.date(2026, 3, 1), "")
    half = SearchFilter.from_form("", (dt.date(2026, 3, 1),), "")
    assert one == half
    assert one.end == dt.datetime(2026, 3, 2, tzinfo=dt.UTC)


def test_text_is_cut_to_the_store_bound() -> None:
    assert SearchFilter.from_form("", None, "x" * 500).text == "x" * MAX_TEXT_CHARS
