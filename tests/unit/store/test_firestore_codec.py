"""Firestore document decoding (no server needed)."""

from __future__ import annotations

import datetime as dt

from liveavatar.store import Message, ToolCallRecord, TurnRecord
from liveavatar.store._firestore_codec import (
    daily_model,
    message_model,
    summary_fields,
    turn_doc,
    turn_lines,
    turn_model,
    turn_times_doc,
    turn_times_id,
    user_day_id,
    user_model,
)

T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)


def _doc(**kw: object) -> dict[str, object]:
    return {"id": "c1", "userId": "u1", "timestamp": T0, "duration": 0.0, **kw}


def test_a_running_conversation_lasts_until_its_last_turn() -> None:
    running = summary_fields(_doc(lastTurnAt=T0 + dt.timedelta(seconds=42), turns=3))
    assert running["duration_s"] == 42.0 and running["metrics"].turns == 3
    ended = summary_fields(
        _doc(lastTurnAt=T0 + dt.timedelta(seconds=42), endedAt=T0, duration=50.0)
    )
    assert ended["duration_s"] == 50.0 and ended["ended_at"] == T0


def test_a_resumed_conversation_ended_when_its_last_session_did() -> None:
    later = T0 + dt.timedelta(hours=1)
    ends = summary_fields(_doc(sessionEnds=[later, T0], duration=50.0))
    assert ends["ended_at"] == later and ends["duration_s"] == 50.0
    # A conversation ended before sessions were told apart has the seed's endedAt instead,
    # and keeps it until a later session's end.
    assert summary_fields(_doc(endedAt=T0))["ended_at"] == T0
    assert summary_fields(_doc(endedAt=T0, sessionEnds=[later]))["ended_at"] == later
    assert summary_fields(_doc(endedAt=later, sessionEnds=[T0]))["ended_at"] == later


def test_missing_counters_read_as_zero() -> None:
    fields = summary_fields(_doc())
    assert fields["metrics"].turns == 0 and fields["ended_at"] is None
    assert daily_model("2024-05-01", None).total_sessions == 0
    assert daily_model("2024-05-01", {"date": "2024-05-01", "errorCount": 2}).error_count == 2


def test_a_line_of_an_earlier_versions_messages_array_reads() -> None:
    line = {"turn": 7, "role": "model", "text": "hi", "at": T0, "interrupted": True}
    m = Message(role="model", text="hi", at=T0, turn_index=7, interrupted=True)
    assert message_model({**line, "sources": []}) == m
    assert message_model(line) == m


def test_a_stored_turns_lines_are_the_turns_own() -> None:
    turn = TurnRecord(
        index=2,
        user_text="hi",
        model_text="hello",
        interrupted=True,
        started_at=T0,
        ended_at=T0 + dt.timedelta(seconds=2),
        turn_latency_ms=300.0,
    )
    assert turn_lines(turn_doc(turn)) == turn.messages()
    silent = turn.model_copy(update={"user_text": ""})
    assert turn_lines(turn_doc(silent)) == silent.messages()


def test_a_stored_turn_reads_back_whole_with_its_texts() -> None:
    call = ToolCallRecord(name="get_time", args="{}", result="noon", duration_ms=3.0)
    plus2 = dt.timezone(dt.timedelta(hours=2))
    turn = TurnRecord(
        index=4,
        user_text="what time is it",
        model_text="noon",
        started_at=T0.astimezone(plus2),
        ended_at=T0 + dt.timedelta(seconds=2),
        time_to_first_audio_ms=80.0,
        turn_latency_ms=300.0,
        cost_usd=0.25,
        tool_calls=[call],
    )
    # What append_turn stores under turns/{index}: the whole record.
    assert turn_model(turn_doc(turn), turn.user_text, turn.model_text) == turn
    # Earlier versions stored the record without its texts.
    doc = turn.model_dump(exclude={"user_text", "model_text"})
    back = turn_model(doc, "what time is it", "noon")
    assert back == turn and back.started_at.tzinfo == dt.UTC
    # A turn stored before tool calls were recorded has none.
    del doc["tool_calls"]
    assert turn_model(doc, "", "").tool_calls == []


def test_turn_times_and_user_days_ids() -> None:
    turn = TurnRecord(index=7, started_at=T0, ended_at=T0, turn_latency_ms=5.0)
    assert turn_times_id("c|1", 7) == "c|1|000007"
    assert turn_times_doc("c1", turn) == {
        "conversationId": "c1",
        "endedAt": T0,
        "ttfaMs": None,
        "latencyMs": 5.0,
        "avOffsetMs": None,
    }
    assert user_day_id("u1", "2024-05-01") == "2024-05-01|u1"


def test_a_user_written_before_blocking_is_not_blocked() -> None:
    doc = {"id": "u1", "email": "a@example.com", "createdAt": T0}
    assert not user_model(doc).blocked
    assert user_model({**doc, "blocked": True}).blocked
