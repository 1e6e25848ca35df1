"""The SQLite store's rows: the column lists, the statements that write them, and the
conversions between rows and the store's records (the tables are in `_sqlite_schema.py`).

Times are integer microseconds since the epoch (UTC). Counters are sums and counts only, so
every update is `x = x + excluded.x`.
"""

from __future__ import annotations

import json
from typing import Any

from liveavatar.store._common import from_us, to_us, token_values
from liveavatar.store.day_totals import DailyMetrics
from liveavatar.store.models import (
    TOKEN_SUMS,
    ConversationMetrics,
    Message,
    Source,
    TurnRecord,
    User,
)

_CONV_SUMS = (
    "turns",
    "interrupted_turns",
    "latency_ms_sum",
    "latency_count",
    "ttfa_ms_sum",
    "ttfa_count",
    "prompt_tokens",
    "response_tokens",
    "errors",
    *TOKEN_SUMS,
)
CONV_COLS = "id, user_id, started_us, ended_us, duration_s, persona_version, " + ", ".join(
    _CONV_SUMS
)
# In the keyword order of `Store.increment_daily` (`_common.daily_values`).
DAILY_COLS = (
    "sessions",
    "turns",
    "latency_ms_sum",
    "latency_count",
    "duration_s_sum",
    "ended_sessions",
    "errors",
    "prompt_tokens",
    "response_tokens",
    *TOKEN_SUMS,
)
USER_COLS = "id, email, settings_json, quota_minutes_per_day, created_us, blocked"

# Adds one day's increments (`_common.daily_values`, in `DAILY_COLS` order) in place: never a
# read-modify-write, so concurrent writers (and the dashboard's process) sum exactly.
DAILY_UPSERT = (
    f"INSERT INTO daily_metrics (date, {', '.join(DAILY_COLS)})"
    f" VALUES (?{', ?' * len(DAILY_COLS)}) ON CONFLICT (date) DO UPDATE SET "
    + ", ".join(f"{k} = {k} + excluded.{k}" for k in DAILY_COLS)
)
# A stored turn's additions to its conversation. Until one of its sessions has ended, the
# duration is how far the turns reach; from then on it is the ended sessions' talk time
# (END_UPDATE adds each), which a resumed session's turns must not stretch over the pause.
TURN_UPDATE = (
    "UPDATE conversations SET turns = turns + 1,"
    " interrupted_turns = interrupted_turns + ?,"
    " latency_ms_sum = latency_ms_sum + ?, latency_count = latency_count + 1,"
    " ttfa_ms_sum = ttfa_ms_sum + ?, ttfa_count = ttfa_count + ?,"
    " prompt_tokens = prompt_tokens + ?, response_tokens = response_tokens + ?,"
    + "".join(f" {k} = {k} + ?," for k in TOKEN_SUMS)
    + " duration_s = CASE WHEN ended_us IS NULL"
    " THEN MAX(duration_s, (? - started_us) / 1e6) ELSE duration_s END"
    " WHERE id = ?"
)
# One session's end (at, its talk time, its errors; conversation id): the end is the latest
# of the sessions' ends, whatever order they are recorded in; the first end replaces the
# running duration (the turns' reach, see TURN_UPDATE), later ones add their talk time.
END_UPDATE = (
    "UPDATE conversations SET ended_us = MAX(COALESCE(ended_us, ?1), ?1),"
    " duration_s = CASE WHEN ended_us IS NULL THEN ?2 ELSE duration_s + ?2 END,"
    " errors = errors + ?3 WHERE id = ?4"
)


def user_row(row: tuple[Any, ...]) -> User:
    id, email, settings_json, quota, created_us, blocked = row
    return User(
        id=id,
        email=email,
        settings=json.loads(settings_json),
        quota_minutes_per_day=quota,
        created_at=from_us(created_us),
        blocked=bool(blocked),
    )


def summary_fields(row: tuple[Any, ...]) -> dict[str, Any]:
    (id, user_id, started_us, ended_us, duration_s, persona_version, *sums) = row
    names = _CONV_SUMS
    return {
        "id": id,
        "user_id": user_id,
        "timestamp": from_us(started_us),
        "ended_at": None if ended_us is None else from_us(ended_us),
        "duration_s": duration_s,
        "persona_version": persona_version,
        "metrics": ConversationMetrics(**dict(zip(names, sums, strict=True))),
    }


def daily_row(row: tuple[Any, ...]) -> DailyMetrics:
    day, sessions, turns, lat_sum, lat_n, dur_sum, ended, errors, p_tok, r_tok, *tokens = row
    return DailyMetrics(
        date=day,
        total_sessions=sessions,
        total_turns=turns,
        latency_ms_sum=lat_sum,
        latency_count=lat_n,
        duration_s_sum=dur_sum,
        ended_sessions=ended,
        error_count=errors,
        prompt_tokens=p_tok,
        response_tokens=r_tok,
        **dict(zip(TOKEN_SUMS, tokens, strict=True)),
    )


# A stored turn, its columns named: the table has grown since v1.
TURN_INSERT = (
    "INSERT INTO turns (conversation_id, turn_index, interrupted, started_us, ended_us,"
    " ttfa_ms, latency_ms, prompt_tokens, response_tokens, sources_json, queries_json,"
    " tool_calls_json, "
    + ", ".join(TOKEN_SUMS)
    + f") VALUES (?{', ?' * (11 + len(TOKEN_SUMS))}) ON CONFLICT DO NOTHING"
)
MESSAGE_INSERT = (
    "INSERT INTO messages (conversation_id, turn_index, role, text, at_us, interrupted,"
    " sources_json, heard_text, av_offset_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT DO NOTHING"
)
MESSAGE_COLS = "role, text, at_us, turn_index, interrupted, sources_json, heard_text, av_offset_ms"
# The page's report of what was heard of a stored turn's answer.
PLAYBACK_UPDATE = (
    "UPDATE messages SET heard_text = ?, av_offset_ms = ?"
    " WHERE conversation_id = ? AND turn_index = ? AND role = 'model'"
)


def turn_row(conversation_id: str, turn: TurnRecord) -> tuple[Any, ...]:
    """`TURN_INSERT`'s values for a turn."""
    return (
        conversation_id,
        turn.index,
        turn.interrupted,
        to_us(turn.started_at),
        to_us(turn.ended_at),
        turn.time_to_first_audio_ms,
        turn.turn_latency_ms,
        turn.prompt_tokens,
        turn.response_tokens,
        _sources_json(turn.sources),
        json.dumps(turn.search_queries),
        json.dumps([t.model_dump() for t in turn.tool_calls]),
        *token_values(turn.tokens()),
    )


def message_rows(conversation_id: str, turn: TurnRecord) -> list[tuple[Any, ...]]:
    """`MESSAGE_INSERT`'s values for a turn's transcript lines."""
    return [
        (
            conversation_id,
            m.turn_index,
            m.role,
            m.text,
            to_us(m.at),
            m.interrupted,
            _sources_json(m.sources),
            m.heard_text,
            m.av_offset_ms,
        )
        for m in turn.messages()
    ]


def message_row(row: tuple[Any, ...]) -> Message:
    """A transcript line read with `MESSAGE_COLS`."""
    role, text, at_us, turn_index, interrupted, sources_json, heard_text, av_offset_ms = row
    return Message(
        role=role,
        text=text,
        at=from_us(at_us),
        turn_index=turn_index,
        interrupted=bool(interrupted),
        sources=[Source.model_validate(s) for s in json.loads(sources_json)],
        heard_text=heard_text,
        av_offset_ms=av_offset_ms,
    )


def _sources_json(sources: list[Source]) -> str:
    return json.dumps([s.model_dump() for s in sources])
