from __future__ import annotations

import csv
import datetime as dt
import io
import json

from liveavatar.dashboard.exports import (
    CSV_COLUMNS,
    ExportedConversation,
    export_name,
    to_csv,
    to_json,
)
from liveavatar.store.models import (
    Conversation,
    ConversationSummary,
    Message,
    ToolCallRecord,
    TurnRecord,
)

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def _turn(index: int, **extra: object) -> TurnRecord:
    return TurnRecord.model_validate(
        {
            "index": index,
            "user_text": f'question {index}, with "quotes"\nand a newline',
            "model_text": f"answer {index}",
            "started_at": T0 + dt.timedelta(seconds=10 * index),
            "ended_at": T0 + dt.timedelta(seconds=10 * index + 3),
            "time_to_first_audio_ms": 420.0,
            "turn_latency_ms": 3000.0,
            "prompt_tokens": 100 + index,
            "response_tokens": 50,
            "output_audio_tokens": 40,
            "cost_usd": 0.0125,
        }
        | extra
    )


def _items() -> list[ExportedConversation]:
    with_tool = _turn(
        1,
        tool_calls=[
            ToolCallRecord(
                name="get_current_time", args='{"tz":"UTC"}', result="09:00", duration_ms=3.5
            )
        ],
    )
    full = Conversation(
        id="c1",
        user_id="alice",
        timestamp=T0,
        ended_at=T0 + dt.timedelta(minutes=1),
        duration_s=60.0,
        persona_version=2,
        messages=[Message(role="user", text="hidden", at=T0)],
    )
    empty = ConversationSummary(id="c2", user_id="bob", timestamp=T0 - dt.timedelta(days=1))
    return [ExportedConversation(full, [_turn(0), with_tool]), ExportedConversation(empty, [])]


def test_json_holds_each_conversation_with_its_turns() -> None:
    document = json.loads(to_json(_items()))
    assert document["format"] == 1
    first, second = document["conversations"]
    assert (first["id"], first["user_id"], first["persona_version"]) == ("c1", "alice", 2)
    assert "messages" not in first
    assert [t["index"] for t in first["turns"]] == [0, 1]
    call = first["turns"][1]["tool_calls"][0]
    assert call == {
        "name": "get_current_time",
        "args": '{"tz":"UTC"}',
        "result": "09:00",
        "ok": True,
        "duration_ms": 3.5,
    }
    assert first["turns"][0]["cost_usd"] == 0.0125
    assert (second["id"], second["turns"]) == ("c2", [])


def test_csv_has_a_row_per_turn_and_one_for_a_conversation_without_turns() -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv(_items()).decode("utf-8"), newline="")))
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    assert [(r["conversation_id"], r["turn_index"]) for r in rows] == [
        ("c1", "0"),
        ("c1", "1"),
        ("c2", ""),
    ]
    assert rows[0]["user_text"] == 'question 0, with "quotes"\nand a newline'
    assert rows[0]["conversation_started_at"] == T0.isoformat()
    assert float(rows[1]["cost_usd"]) == 0.0125
    assert json.loads(rows[1]["tool_calls"])[0]["name"] == "get_current_time"
    assert rows[0]["tool_calls"] == ""
    assert rows[2]["user_id"] == "bob"


def test_empty_exports_still_parse() -> None:
    assert json.loads(to_json([]))["conversations"] == []
    assert to_csv([]).decode().splitlines() == [",".join(CSV_COLUMNS)]


def test_export_names_are_safe() -> None:
    assert export_name("conversation-c1", "json") == "conversation-c1.json"
    assert export_name("../a b", "csv") == "a-b.csv"
    assert export_name("", "csv") == "conversations.csv"
