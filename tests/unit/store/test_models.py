"""Conversation records: transcript lines of a turn, derived averages, aware datetimes only."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from liveavatar.store import (
    Conversation,
    ConversationMetrics,
    Message,
    TurnRecord,
)

T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)


def _turn(**kw: object) -> TurnRecord:
    fields: dict[str, object] = {
        "index": 4,
        "user_text": "hi",
        "model_text": "hello",
        "started_at": T0,
        "ended_at": T0 + dt.timedelta(seconds=2),
        "turn_latency_ms": 100.0,
    }
    return TurnRecord.model_validate({**fields, **kw})


def test_a_turn_becomes_two_transcript_lines() -> None:
    user, model = _turn(interrupted=True).messages()
    assert (user.role, user.text, user.at, user.turn_index) == ("user", "hi", T0, 4)
    assert (model.role, model.at, model.interrupted) == (
        "model",
        T0 + dt.timedelta(seconds=2),
        True,
    )
    assert not user.interrupted


def test_an_empty_side_adds_no_line() -> None:
    assert [m.role for m in _turn(user_text="").messages()] == ["model"]
    assert _turn(user_text="", model_text="").messages() == []


def test_naive_datetimes_and_negative_counts_are_refused() -> None:
    with pytest.raises(ValidationError):
        _turn(started_at=dt.datetime(2024, 5, 1))
    with pytest.raises(ValidationError):
        _turn(prompt_tokens=-1)
    with pytest.raises(ValidationError):
        Message(role="system", text="x", at=T0)  # type: ignore[arg-type]


def test_averages_are_derived_from_sums() -> None:
    m = ConversationMetrics(latency_ms_sum=900.0, latency_count=3, ttfa_ms_sum=500.0, ttfa_count=2)
    assert m.avg_latency_ms == 300.0 and m.avg_time_to_first_audio_ms == 250.0
    empty = ConversationMetrics()
    assert empty.avg_latency_ms == 0.0 and empty.avg_time_to_first_audio_ms is None


def test_dumps_load_back_including_the_derived_fields() -> None:
    conv = Conversation(
        id="c1",
        user_id="u1",
        timestamp=T0,
        metrics=ConversationMetrics(latency_ms_sum=10.0, latency_count=1),
        messages=_turn().messages(),
    )
    dumped = conv.model_dump_json()
    assert '"avg_latency_ms":10.0' in dumped
    assert Conversation.model_validate_json(dumped) == conv
    summary = conv.summary()
    assert not hasattr(summary, "messages") and summary.metrics == conv.metrics
