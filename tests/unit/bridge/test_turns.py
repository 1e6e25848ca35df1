"""TurnTracker: ordered partial and final transcripts, metrics per turn."""

from __future__ import annotations

from collections.abc import Sequence

from liveavatar.bridge.turns import MAX_TOOL_CALLS, TurnTracker
from liveavatar.live.events import Usage
from liveavatar.protocol import Transcript, TurnComplete, TurnMetrics
from liveavatar.store import ToolCallRecord


def texts(messages: Sequence[object]) -> list[tuple[str, str, bool]]:
    return [(m.role, m.text, m.final) for m in messages if isinstance(m, Transcript)]


def test_spoken_turn() -> None:
    t = TurnTracker()
    out = (
        t.user_fragment("what ", 1.0)
        + t.user_fragment("time ", 1.2)
        + t.user_fragment("is it", 1.4)
    )
    assert texts(out)[-1] == ("user", "what time is it", False)
    out = t.audio(1.8) + t.model_fragment(" It is", 1.8) + t.model_fragment(" noon.", 1.9)
    assert texts(out) == [
        ("user", "what time is it", True),
        ("model", "It is", False),
        ("model", "It is noon.", False),
    ]
    out = t.complete(Usage(10, 5, 15), 2.5)
    assert texts(out) == [("model", "It is noon.", True)]
    metrics = next(m for m in out if isinstance(m, TurnMetrics))
    assert metrics.time_to_first_audio_ms == 400.0  # last user input 1.4 -> audio 1.8
    assert metrics.turn_latency_ms == 1500.0
    assert metrics.total_tokens == 15
    assert any(isinstance(m, TurnComplete) and m.turn == 1 for m in out)
    assert t.turn == 2


def test_typing_over_the_reply_belongs_to_the_next_turn() -> None:
    t = TurnTracker()
    t.typed("tell me a joke", 0.0)
    t.audio(0.2)
    assert t.typed("stop", 0.5) == []
    t.interrupt(0.6)
    out = t.complete(None, 0.7)
    assert texts(out)[-1] == ("user", "stop", True)
    assert t.turn == 2 and t.user_final


def test_turn_without_audio_has_no_time_to_first_audio() -> None:
    t = TurnTracker()
    t.typed("hi", 0.0)
    out = t.complete(None, 0.3)
    metrics = next(m for m in out if isinstance(m, TurnMetrics))
    assert metrics.time_to_first_audio_ms is None


def test_a_turns_tool_calls_go_with_it_and_not_into_the_next() -> None:
    t = TurnTracker()
    t.typed("what time is it", 0.0)
    call = ToolCallRecord.bounded(
        "get_current_time", "{}", '{"output": "noon"}', ok=True, duration_ms=3
    )
    t.tool_call(call)
    t.complete(None, 0.5)
    assert finished_calls(t) == [call]
    t.typed("thanks", 1.0)
    t.complete(None, 1.2)
    assert finished_calls(t) == []
    for _ in range(MAX_TOOL_CALLS + 5):
        t.tool_call(call)
    t.complete(None, 2.0)
    assert len(finished_calls(t)) == MAX_TOOL_CALLS


def finished_calls(t: TurnTracker) -> list[ToolCallRecord]:
    assert t.last_finished is not None
    return list(t.last_finished.tool_calls)
