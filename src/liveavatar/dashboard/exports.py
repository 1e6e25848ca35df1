"""Conversations with their turns as a JSON document or a CSV table (privacy requests,
support, offline analysis).

JSON keeps everything as stored: one object per conversation with its summary and its
turns. CSV has one row per turn, the conversation's columns repeated on each, and one row
with empty turn columns for a conversation without turns, so every conversation appears.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from liveavatar.store.models import TOKEN_SUMS, ConversationSummary, TurnRecord

EXPORT_FORMAT_VERSION = 1

CONVERSATION_COLUMNS: tuple[str, ...] = (
    "conversation_id",
    "user_id",
    "conversation_started_at",
    "conversation_ended_at",
    "duration_s",
    "persona_version",
)
TURN_COLUMNS: tuple[str, ...] = (
    "turn_index",
    "turn_started_at",
    "turn_ended_at",
    "user_text",
    "model_text",
    "interrupted",
    "time_to_first_audio_ms",
    "turn_latency_ms",
    "prompt_tokens",
    "response_tokens",
    *TOKEN_SUMS,
    "tool_calls",
    "sources",
    "search_queries",
)
CSV_COLUMNS: tuple[str, ...] = CONVERSATION_COLUMNS + TURN_COLUMNS
# A full `Conversation` also carries its transcript, which the turns already hold.
_SUMMARY_FIELDS = set(ConversationSummary.model_fields)


@dataclass(frozen=True)
class ExportedConversation:
    """One conversation as exported: its summary and its stored turns."""

    conversation: ConversationSummary
    turns: Sequence[TurnRecord]


def to_json(items: Sequence[ExportedConversation]) -> bytes:
    """`{"format": 1, "conversations": [{...summary, "turns": [...]}, ...]}` as UTF-8."""
    document = {
        "format": EXPORT_FORMAT_VERSION,
        "conversations": [
            item.conversation.model_dump(mode="json", include=_SUMMARY_FIELDS)
            | {"turns": [turn.model_dump(mode="json") for turn in item.turns]}
            for item in items
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")


def to_csv(items: Sequence[ExportedConversation]) -> bytes:
    """One row per turn (see the module's docstring), UTF-8 with a header row."""
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for item in items:
        head = _conversation_row(item.conversation)
        if not item.turns:
            writer.writerow(head)
        for turn in item.turns:
            writer.writerow(head | _turn_row(turn))
    return out.getvalue().encode("utf-8")


def export_name(stem: str, extension: str) -> str:
    """A download's file name: `<stem>.<extension>`, the stem made safe for any OS."""
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in stem).strip("-.")
    return f"{safe or 'conversations'}.{extension}"


def _conversation_row(c: ConversationSummary) -> dict[str, Any]:
    return {
        "conversation_id": c.id,
        "user_id": c.user_id,
        "conversation_started_at": c.timestamp.isoformat(),
        "conversation_ended_at": c.ended_at.isoformat() if c.ended_at else "",
        "duration_s": c.duration_s,
        "persona_version": _blank_if_none(c.persona_version),
    }


def _turn_row(t: TurnRecord) -> dict[str, Any]:
    row: dict[str, Any] = {
        "turn_index": t.index,
        "turn_started_at": t.started_at.isoformat(),
        "turn_ended_at": t.ended_at.isoformat(),
        "user_text": t.user_text,
        "model_text": t.model_text,
        "interrupted": t.interrupted,
        "time_to_first_audio_ms": ""
        if t.time_to_first_audio_ms is None
        else t.time_to_first_audio_ms,
        "turn_latency_ms": t.turn_latency_ms,
        "prompt_tokens": t.prompt_tokens,
        "response_tokens": t.response_tokens,
        "tool_calls": _json([c.model_dump(mode="json") for c in t.tool_calls]),
        "sources": _json([s.model_dump(mode="json") for s in t.sources]),
        "search_queries": _json(t.search_queries),
    }
    for name in TOKEN_SUMS:
        row[name] = getattr(t, name)
    return row


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")) if value else ""


def _blank_if_none(value: float | None) -> float | str:
    return "" if value is None else value
