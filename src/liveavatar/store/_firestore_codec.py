"""Firestore documents <-> store models (pure functions; no client needed to test them).

Layout (the seed's collections; field names camelCase as in the seed):

- `conversations/{id}`: userId, timestamp, sortKey, sessionEnds, duration, lastTurnAt,
  personaVersion, and flat metric sums (turns, interruptedTurns, latencyMsSum,
  latencyCount, ttfaMsSum, ttfaCount, promptTokens, responseTokens, errorCount, and the
  token and cost sums `inputTextTokens` … `costUsd`). The seed's `metrics` map is flattened
  because an `Increment` on a dotted path fails in the emulator. The transcript is not in
  it: a document is capped at 1 MiB and a long conversation's text outgrows that, after
  which every write to it would fail. Conversations written by earlier versions hold their
  lines in `messages` (turn, role, text, at, interrupted, sources), still read.
  A conversation can span several sessions: `sessionEnds` holds each ended session's end
  time and `duration` the sum of their talk time; the conversation ended at the latest of
  `sessionEnds` (or at the seed's `endedAt`, which conversations ended before sessions were
  told apart have instead). Subcollections: `turns/{index:06d}` (one per stored turn; the
  idempotency key; the whole `TurnRecord` with its texts, token counts, cost, sources,
  search queries and tool calls, and what the user heard of the answer (`heard_text`,
  `av_offset_ms`, set by `record_playback` when the page reports it); the transcript
  lines are derived from it; earlier versions left the texts out, which `messages` then
  holds) and `markers/{_common.end_marker(part)}` (one per ended session: `ended-{part}`,
  or `ended` for the default part).
- `metrics/{YYYY-MM-DD}|{shard}`: one of the day's shards (`_firestore_daily.SHARDS`; an
  unsharded `metrics/{YYYY-MM-DD}` of earlier versions reads as one more): date,
  totalSessions, totalTurns, latencyMsSum, latencyCount, durationSSum, endedSessions,
  errorCount, promptTokens, responseTokens and the token and cost sums. Averages are derived
  on read, so every update is an `Increment`.
- `users/{id}`: id, email, settings, quotaMinutesPerDay, createdAt; `users/{id}/usage/{day}`:
  date, seconds, costUsd (the estimated cost of the user's turns that day).
- `config/persona`: the active `PersonaConfig`; `config/persona/versions/{version:06d}`: each
  saved version, whose `create()` is what makes the version check race-free.

Top-level collections the dashboard's queries read, because the emulator has no
collection-group queries and cannot increment a field inside a map:

- `turnTimes/{conversation}|{index:06d}`: conversationId, endedAt, ttfaMs (None without
  audio), latencyMs, avOffsetMs (the page's A/V offset, None until reported; also set by
  `record_playback`); written in each turn's batch, deleted with its conversation (the
  latency percentiles per day, the A/V offset over a period). Turns stored before it
  existed are not in the percentiles.
- `dailyCounters/{day}|{name}|{shard}`: date, name, n (`DailyMetrics.counters`; sharded as
  `metrics`, the earlier `{day}|{name}` summed too).
- `userDays/{day}|{user}`: userId, date, seconds, costUsd; written beside each
  `users/{id}/usage/{day}` (every user's days in a range). Days recorded before it existed
  are found only when one user's days are asked for (from the user's own documents).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from google.cloud import firestore
from pydantic.alias_generators import to_camel

from liveavatar.store._common import plain_utc, token_values, utc
from liveavatar.store.day_totals import DailyMetrics
from liveavatar.store.models import (
    TOKEN_SUMS,
    ConversationMetrics,
    Message,
    Source,
    TurnRecord,
    User,
)
from liveavatar.store.persona_config import PersonaConfig

# The token and cost sums (`models.TOKEN_SUMS`) under their document names: model name ->
# camelCase (`inputAudioTokens`, …, `costUsd`), in conversations and days alike.
_TOKEN_FIELDS = {name: to_camel(name) for name in TOKEN_SUMS}

# Field order matches the keyword order of `Store.increment_daily` (`_common.daily_values`).
DAILY_FIELDS = (
    "totalSessions",
    "totalTurns",
    "latencyMsSum",
    "latencyCount",
    "durationSSum",
    "endedSessions",
    "errorCount",
    "promptTokens",
    "responseTokens",
    *_TOKEN_FIELDS.values(),
)
_DAILY_MODEL_FIELDS = (
    "total_sessions",
    "total_turns",
    "latency_ms_sum",
    "latency_count",
    "duration_s_sum",
    "ended_sessions",
    "error_count",
    "prompt_tokens",
    "response_tokens",
    *TOKEN_SUMS,
)
# Conversation metric fields: document name -> model name.
_METRICS = {
    "turns": "turns",
    "interruptedTurns": "interrupted_turns",
    "latencyMsSum": "latency_ms_sum",
    "latencyCount": "latency_count",
    "ttfaMsSum": "ttfa_ms_sum",
    "ttfaCount": "ttfa_count",
    "promptTokens": "prompt_tokens",
    "responseTokens": "response_tokens",
    "errorCount": "errors",
    **{field: name for name, field in _TOKEN_FIELDS.items()},
}
# What a listing fetches (`select`): everything but the transcript.
SUMMARY_FIELDS = [
    "id",
    "userId",
    "timestamp",
    "sessionEnds",
    "endedAt",
    "duration",
    "lastTurnAt",
    "personaVersion",
    *_METRICS,
]


def _time(value: Any) -> dt.datetime | None:
    return None if value is None else plain_utc(value)


def daily_doc(day: str, values: tuple[float, ...]) -> dict[str, Any]:
    """A merge-set body adding `values` (`_common.daily_values`) to a day's document; zero
    increments are left out, so with nothing to add it holds only the date."""
    fields = {k: firestore.Increment(v) for k, v in zip(DAILY_FIELDS, values, strict=True) if v}
    return {"date": day, **fields}


def turn_update(turn: TurnRecord) -> dict[str, Any]:
    """What a stored turn adds to its conversation's document (an update body)."""
    update: dict[str, Any] = {
        "turns": firestore.Increment(1),
        "interruptedTurns": firestore.Increment(int(turn.interrupted)),
        "latencyMsSum": firestore.Increment(float(turn.turn_latency_ms)),
        "latencyCount": firestore.Increment(1),
        "promptTokens": firestore.Increment(turn.prompt_tokens),
        "responseTokens": firestore.Increment(turn.response_tokens),
        # Not the duration: while no session has ended it is derived from this on read.
        "lastTurnAt": utc(turn.ended_at),
    }
    for field, value in zip(_TOKEN_FIELDS.values(), token_values(turn.tokens()), strict=True):
        if value:  # only what it adds: a zero increment is a write for nothing
            update[field] = firestore.Increment(value)
    if (ttfa := turn.time_to_first_audio_ms) is not None:
        update["ttfaMsSum"] = firestore.Increment(float(ttfa))
        update["ttfaCount"] = firestore.Increment(1)
    return update


def summary_fields(doc: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments of `ConversationSummary` from a conversation document."""
    started = plain_utc(doc["timestamp"])
    ends = [plain_utc(at) for at in (*(doc.get("sessionEnds") or ()), doc.get("endedAt")) if at]
    ended = max(ends, default=None)
    duration = float(doc.get("duration") or 0.0)
    last_turn = _time(doc.get("lastTurnAt"))
    if ended is None and last_turn is not None:
        # Until a session of it ends, the duration is how far its turns reach (appends only
        # know their own end time, so it is derived here rather than written with each
        # turn); from then on it is the ended sessions' talk time, summed by their ends.
        duration = max(duration, (last_turn - started).total_seconds())
    return {
        "id": doc["id"],
        "user_id": doc["userId"],
        "timestamp": started,
        "ended_at": ended,
        "duration_s": duration,
        "persona_version": doc.get("personaVersion"),
        "metrics": ConversationMetrics(
            **{model: doc[name] for name, model in _METRICS.items() if doc.get(name) is not None}
        ),
    }


def turn_doc(turn: TurnRecord) -> dict[str, Any]:
    """A stored turn, `turns/{index:06d}`: the whole record, texts included."""
    return turn.model_dump(mode="python")


# What a turn's transcript lines are made of (a `select` of its document).
TURN_LINE_FIELDS = [
    "index",
    "user_text",
    "model_text",
    "interrupted",
    "started_at",
    "ended_at",
    "sources",
    "heard_text",
    "av_offset_ms",
]


def has_texts(doc: dict[str, Any]) -> bool:
    """Whether a stored turn holds its texts (earlier versions kept them in `messages`)."""
    return "user_text" in doc


def turn_lines(doc: dict[str, Any]) -> list[Message]:
    """The transcript lines of a stored turn that holds its texts (`TURN_LINE_FIELDS`)."""
    return TurnRecord(
        index=doc["index"],
        user_text=doc.get("user_text") or "",
        model_text=doc.get("model_text") or "",
        interrupted=bool(doc.get("interrupted", False)),
        started_at=plain_utc(doc["started_at"]),
        ended_at=plain_utc(doc["ended_at"]),
        turn_latency_ms=0.0,  # not a line's; the model requires one
        sources=[Source.model_validate(s) for s in doc.get("sources") or ()],
        heard_text=doc.get("heard_text"),
        av_offset_ms=doc.get("av_offset_ms"),
    ).messages()


def message_model(doc: dict[str, Any]) -> Message:
    """A line of an earlier version's `messages` array."""
    return Message(
        role=doc["role"],
        text=doc["text"],
        at=plain_utc(doc["at"]),
        turn_index=doc["turn"],
        interrupted=bool(doc.get("interrupted", False)),
        sources=[Source.model_validate(s) for s in doc.get("sources") or ()],
    )


def daily_model(day: str, doc: dict[str, Any] | None) -> DailyMetrics:
    doc = doc or {}
    values = {m: doc[f] for f, m in zip(DAILY_FIELDS, _DAILY_MODEL_FIELDS, strict=True) if f in doc}
    return DailyMetrics(date=day, **values)


def user_model(doc: dict[str, Any]) -> User:
    return User(
        id=doc["id"],
        email=doc["email"],
        settings=doc.get("settings") or {},
        quota_minutes_per_day=doc.get("quotaMinutesPerDay"),
        created_at=plain_utc(doc["createdAt"]),
        blocked=bool(doc.get("blocked", False)),
    )


def persona_doc(config: PersonaConfig) -> dict[str, Any]:
    # Python mode keeps datetimes as datetimes, which Firestore stores as timestamps.
    return config.model_dump(mode="python")


def persona_model(doc: dict[str, Any]) -> PersonaConfig:
    updated = doc.get("updated_at")
    return PersonaConfig.model_validate({**doc, "updated_at": _time(updated)})


TURN_TIMES = "turnTimes"
DAILY_COUNTERS = "dailyCounters"
USER_DAYS = "userDays"


def turn_times_id(conversation_id: str, index: int) -> str:
    return f"{conversation_id}|{index:06d}"


def turn_times_doc(conversation_id: str, turn: TurnRecord) -> dict[str, Any]:
    """What the latency percentiles and the period's A/V offset read of a turn
    (`TURN_TIMES`); the offset also comes later, with the page's report."""
    return {
        "conversationId": conversation_id,
        "endedAt": utc(turn.ended_at),
        "ttfaMs": turn.time_to_first_audio_ms,
        "latencyMs": float(turn.turn_latency_ms),
        "avOffsetMs": turn.av_offset_ms,
    }


def user_day_id(user_id: str, day: str) -> str:
    return f"{day}|{user_id}"


def turn_model(doc: dict[str, Any], user_text: str, model_text: str) -> TurnRecord:
    """A stored turn (`turns/{index}`) with the given texts (its own, or for a turn of an
    earlier version, which stored it without them, those of its `messages` lines)."""
    return TurnRecord.model_validate(
        {
            **doc,
            "started_at": plain_utc(doc["started_at"]),
            "ended_at": plain_utc(doc["ended_at"]),
            "user_text": user_text,
            "model_text": model_text,
        }
    )
