"""The page's `played` report: strictly parsed, never more than a prefix of what the model
generated, and added to its turn whether that turn is in progress, finished or stored."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from liveavatar import protocol as p
from liveavatar.bridge.live_events import LiveEvents
from liveavatar.bridge.outbox import Outbox
from liveavatar.bridge.recorder import SessionRecorder
from liveavatar.bridge.tool_calls import ToolCalls
from liveavatar.bridge.turns import FinishedTurn, TurnTracker, heard_prefix
from liveavatar.live.events import AudioOut, Interrupted, OutputText, TurnComplete, Usage
from liveavatar.live.tools import ToolResponse
from liveavatar.metrics import Metrics
from liveavatar.store import SQLiteStore
from liveavatar.tools import ToolRegistry


@pytest.mark.parametrize(
    "frame",
    [
        '{"type": "played", "turn": 0, "words": 1}',
        '{"type": "played", "turn": 1, "words": -1}',
        '{"type": "played", "turn": 1, "words": 2.0}',
        '{"type": "played", "turn": "1", "words": 2}',
        '{"type": "played", "turn": 1, "words": true}',
        '{"type": "played", "turn": 1, "words": 100001}',
        '{"type": "played", "turn": 1, "words": 1, "av_offset_ms": 1e400}',
        # Not JSON, but Python's parsers take these literals: refused, never stored.
        '{"type": "played", "turn": 1, "words": 1, "av_offset_ms": NaN}',
        '{"type": "played", "turn": 1, "words": 1, "av_offset_ms": Infinity}',
        '{"type": "played", "turn": 1, "words": 1, "av_offset_ms": -Infinity}',
        '{"type": "played", "turn": 10000001, "words": 1}',
        '{"type": "played", "turn": 1, "words": 1, "av_offset_ms": 5000}',
        '{"type": "played", "turn": 1, "words": 1, "av_offset_ms": "3"}',
        '{"type": "played", "turn": 1, "words": 1, "text": "I said something else"}',
        '{"type": "played", "turn": 1}',
    ],
)
def test_a_bad_report_is_refused(frame: str) -> None:
    with pytest.raises(ValidationError):
        p.client_message.validate_json(frame)


def test_a_report_parses() -> None:
    msg = p.client_message.validate_json(
        '{"type": "played", "turn": 3, "words": 7, "av_offset_ms": -12.5}'
    )
    assert msg == p.Played(type="played", turn=3, words=7, av_offset_ms=-12.5)
    plain = p.client_message.validate_json('{"type": "played", "turn": 3, "words": 0}')
    assert isinstance(plain, p.Played) and plain.av_offset_ms is None


def test_heard_is_only_ever_a_prefix() -> None:
    assert heard_prefix("one  two three", 2) == "one two"
    assert heard_prefix("one two", 50) == "one two"
    assert heard_prefix("one two", 0) == ""


def events(recorded: list[FinishedTurn], late: list[tuple[int, int, float | None]]) -> LiveEvents:
    outbox, metrics = Outbox(), Metrics()

    async def respond(responses: list[ToolResponse]) -> None:
        return None

    return LiveEvents(
        turns=TurnTracker(),
        outbox=outbox,
        tools=ToolCalls(
            name="t", registry=ToolRegistry([]), metrics=metrics, outbox=outbox, respond=respond
        ),
        metrics=metrics,
        on_handle=lambda handle, now: None,
        on_turn=recorded.append,
        on_played=lambda turn, words, av: late.append((turn, words, av)),
    )


def test_a_report_reaches_its_turn_wherever_it_is() -> None:
    recorded: list[FinishedTurn] = []
    late: list[tuple[int, int, float | None]] = []
    ev = events(recorded, late)
    # Turn 1: a barge-in, reported before Live ends the turn.
    ev.handle(AudioOut(b"\0\0"), 1.0)
    ev.handle(OutputText("one two three four"), 1.0)
    ev.handle(Interrupted(), 1.5)
    ev.played(1, 2, 30.0)
    ev.played(1, 4, None)  # a second report changes nothing
    ev.handle(TurnComplete(), 1.6)
    ev.handle(Usage(1, 1, 2), 1.6)
    assert [(d.turn, d.heard_text, d.av_offset_ms) for d in recorded] == [(1, "one two", 30.0)]
    # Turn 2: finished, still waiting for its usage: the report joins it.
    ev.handle(AudioOut(b"\0\0"), 2.0)
    ev.handle(OutputText("five six"), 2.0)
    ev.handle(TurnComplete(), 2.5)
    ev.played(2, 2, None)
    ev.handle(Usage(1, 1, 2), 2.6)
    assert recorded[-1].turn == 2 and recorded[-1].heard_text == "five six"
    # A report on a recorded turn, or on a turn never seen, goes to the recorder.
    ev.played(1, 1, None)
    ev.played(9, 1, None)
    assert late == [(1, 1, None), (9, 1, None)]


CONVERSATION = "c-played"


async def test_the_recorder_adds_the_report_to_the_stored_turn(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "db.sqlite")
    recorder = SessionRecorder(store, conversation_id=CONVERSATION, user_id="u1", persona_version=1)
    try:
        await recorder.start()
        recorder.turn(FinishedTurn(4, "joke", "a b c d e", True, 100.0, 900.0, None))
        recorder.turn(FinishedTurn(5, "more", "f g", False, 100.0, 900.0, None, heard_words=2))
        recorder.played(4, 3, -8.0)
        recorder.played(4, 5, None)  # once only
        recorder.played(5, 1, None)  # already known at turn end
        recorder.played(77, 1, None)  # not a turn of this session
        await recorder.finish()
        turns = await store.get_turns(CONVERSATION)
        assert [(t.model_text, t.heard_text, t.av_offset_ms) for t in turns] == [
            ("a b c d e", "a b c", -8.0),
            ("f g", "f g", None),
        ]
        conv = await store.get_conversation(CONVERSATION)
        assert conv is not None and conv.messages[1].heard_text == "a b c"
    finally:
        await store.close()


def test_finished_turn_hears_once() -> None:
    done = FinishedTurn(1, "", "x y", False, None, 1.0, None)
    assert done.heard_words is None
    done.hear(1, 2.0)
    done.hear(2, 3.0)
    assert (done.heard_text, done.av_offset_ms) == ("x", 2.0)
