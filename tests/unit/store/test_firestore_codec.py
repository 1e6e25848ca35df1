"""Firestore document decoding (no server needed)."""

from __future__ import annotations

import datetime as dt

from liveavatar.store import Message
from liveavatar.store._firestore_codec import (
    daily_model,
    message_doc,
    message_model,
    summary_fields,
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


def test_messages_round_trip() -> None:
    m = Message(role="model", text="hi", at=T0, turn_index=7, interrupted=True)
    assert message_model(message_doc(m)) == m
