"""The conversation view's heard/unheard split and audio/video offset line."""

from __future__ import annotations

import datetime as dt
import math

from liveavatar.dashboard.heard import (
    av_summary,
    escape_markdown,
    heard_markdown,
    split_heard,
)
from liveavatar.protocol import MAX_AV_OFFSET_MS as MAX_PROTOCOL_OFFSET
from liveavatar.store.models import MAX_AV_OFFSET_MS, TurnRecord

T0 = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)


def turn(av: float | None) -> TurnRecord:
    return TurnRecord(index=0, started_at=T0, ended_at=T0, turn_latency_ms=1.0, av_offset_ms=av)


def test_the_unheard_tail_is_struck_through() -> None:
    assert split_heard("one two three", "one") == ("one", "two three")
    assert split_heard("one two three", None) == ("one two three", "")
    assert split_heard("one two", "one two") == ("one two", "")
    assert split_heard("one two", "one zwei") == ("one", "two")
    assert heard_markdown("one two three", "one") == "one ~~two three~~"
    assert heard_markdown("one two", "") == "~~one two~~"
    assert heard_markdown("a *b*", None) == r"a \*b\*"


def test_markdown_is_shown_as_text() -> None:
    assert escape_markdown("[x](http://e) ~~y~~ $z$ <b>") == (
        r"\[x\]\(http://e\) \~\~y\~\~ \$z\$ \<b\>"
    )


def test_the_offset_line() -> None:
    assert "not measured" in av_summary([turn(None)])
    line = av_summary([turn(10.0), turn(-4.0), turn(2.0), turn(None)])
    assert "median +2 ms over 3 answers, from -4 to +10 ms" in line


def test_offsets_no_page_may_report_are_not_shown() -> None:
    # Read from a store written by something else: not numbers the page could have sent.
    hostile = [turn(x) for x in (math.nan, math.inf, -1e300, 1_500.0)]
    assert [t.av_offset_ms for t in hostile] == [None] * 4
    assert "not measured" in av_summary(hostile)
    line = av_summary([*hostile, turn(3.0)])
    assert "median +3 ms over 1 answers" in line
    assert "nan" not in line and "inf" not in line
    loose = TurnRecord.model_validate(
        {**turn(None).model_dump(), "av_offset_ms": "12"}  # a string stored in its place
    )
    assert loose.av_offset_ms is None


def test_the_store_bound_is_the_protocol_bound() -> None:
    assert MAX_AV_OFFSET_MS == MAX_PROTOCOL_OFFSET
