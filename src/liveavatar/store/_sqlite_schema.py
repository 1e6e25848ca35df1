"""The SQLite file: connection settings, the versioned schema (created on open), and rows.

Times are integer microseconds since the epoch (UTC): exact, and they sort. Counters are
sums and counts only, so every update is `x = x + excluded.x`.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from liveavatar.store._common import fold, from_us, to_us, token_values
from liveavatar.store.base import StoreError
from liveavatar.store.models import (
    TOKEN_SUMS,
    ConversationMetrics,
    DailyMetrics,
    Message,
    Source,
    TurnRecord,
    User,
)

SCHEMA_VERSION = 6

_SCHEMA_V1 = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    started_us INTEGER NOT NULL,
    ended_us INTEGER,
    duration_s REAL NOT NULL DEFAULT 0,
    persona_version INTEGER,
    turns INTEGER NOT NULL DEFAULT 0,
    interrupted_turns INTEGER NOT NULL DEFAULT 0,
    latency_ms_sum REAL NOT NULL DEFAULT 0,
    latency_count INTEGER NOT NULL DEFAULT 0,
    ttfa_ms_sum REAL NOT NULL DEFAULT 0,
    ttfa_count INTEGER NOT NULL DEFAULT 0,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    response_tokens INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS conversations_by_start ON conversations (started_us, id);
CREATE INDEX IF NOT EXISTS conversations_by_user ON conversations (user_id, started_us, id);

-- One row per stored turn: its primary key is what makes append_turn idempotent.
CREATE TABLE IF NOT EXISTS turns (
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    turn_index INTEGER NOT NULL,
    interrupted INTEGER NOT NULL,
    started_us INTEGER NOT NULL,
    ended_us INTEGER NOT NULL,
    ttfa_ms REAL,
    latency_ms REAL NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    response_tokens INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, turn_index)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS messages (
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    turn_index INTEGER NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('user', 'model')),
    text TEXT NOT NULL,
    at_us INTEGER NOT NULL,
    interrupted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (conversation_id, turn_index, role)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS daily_metrics (
    date TEXT PRIMARY KEY,
    sessions INTEGER NOT NULL DEFAULT 0,
    turns INTEGER NOT NULL DEFAULT 0,
    latency_ms_sum REAL NOT NULL DEFAULT 0,
    latency_count INTEGER NOT NULL DEFAULT 0,
    duration_s_sum REAL NOT NULL DEFAULT 0,
    ended_sessions INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    response_tokens INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    settings_json TEXT NOT NULL DEFAULT '{}',
    quota_minutes_per_day REAL,
    created_us INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS usage (
    user_id TEXT NOT NULL,
    date TEXT NOT NULL,
    seconds REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, date)
) WITHOUT ROWID;

-- Every saved persona is kept; the highest version is the active one.
CREATE TABLE IF NOT EXISTS persona_versions (
    version INTEGER PRIMARY KEY,
    config_json TEXT NOT NULL,
    updated_us INTEGER NOT NULL,
    updated_by TEXT
);
"""

# v2: a conversation can span several sessions (a page that reconnects resumes it), and each
# session's end is recorded once. A v1 file's ended conversations count as one ended session
# each, under the default part "", so an end recorded before the upgrade stays idempotent.
_SCHEMA_V2 = """
-- One row per ended session of a conversation: its primary key is what makes
-- end_conversation idempotent per session.
CREATE TABLE IF NOT EXISTS conversation_ends (
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    part TEXT NOT NULL,
    ended_us INTEGER NOT NULL,
    duration_s REAL NOT NULL,
    errors INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, part)
) WITHOUT ROWID;
INSERT INTO conversation_ends (conversation_id, part, ended_us, duration_s, errors)
    SELECT id, '', ended_us, duration_s, errors FROM conversations WHERE ended_us IS NOT NULL;
"""


def _sum_columns(table: str) -> str:
    return "".join(
        f"ALTER TABLE {table} ADD COLUMN {name}"
        f" {'REAL' if name == 'cost_usd' else 'INTEGER'} NOT NULL DEFAULT 0;\n"
        for name in TOKEN_SUMS
    )


# v3: token usage by modality and the estimated cost (`models.TOKEN_SUMS`) per turn, per
# conversation, per day, and the cost per user and day (the cost quota); a grounded
# answer's sources on the turn and on the model's line, and the searches on the turn.
# Rows written before count 0 of each and have no sources.
_SCHEMA_V3 = (
    "".join(_sum_columns(t) for t in ("conversations", "turns", "daily_metrics"))
    + """
ALTER TABLE turns ADD COLUMN sources_json TEXT NOT NULL DEFAULT '[]';
ALTER TABLE turns ADD COLUMN queries_json TEXT NOT NULL DEFAULT '[]';
ALTER TABLE messages ADD COLUMN sources_json TEXT NOT NULL DEFAULT '[]';
ALTER TABLE usage ADD COLUMN cost_usd REAL NOT NULL DEFAULT 0;
"""
)

# v4: the dashboard's queries. Blocked users; each turn's tool calls; the day's event
# counters by name (Live reconnects, rotations, errors by kind); indexes for the latency
# percentiles (turns by their end, covering what the percentiles read) and for every
# user's days in a date range. Rows written before: not blocked, no tool calls.
_SCHEMA_V4 = """
ALTER TABLE users ADD COLUMN blocked INTEGER NOT NULL DEFAULT 0;
ALTER TABLE turns ADD COLUMN tool_calls_json TEXT NOT NULL DEFAULT '[]';
CREATE TABLE IF NOT EXISTS daily_counters (
    date TEXT NOT NULL,
    name TEXT NOT NULL,
    n INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (date, name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS turns_by_end ON turns (ended_us, ttfa_ms, latency_ms);
CREATE INDEX IF NOT EXISTS usage_by_date ON usage (date, user_id);
"""

# v5: resumption entries, so that any process sharing the file resumes any session
# (`_sqlite_resume.py`); expired ones are found by their expiry.
_SCHEMA_V5 = """
CREATE TABLE IF NOT EXISTS resumptions (
    session_id TEXT PRIMARY KEY,
    owner_digest TEXT NOT NULL,
    holder TEXT NOT NULL,
    handle TEXT,
    expires_us INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS resumptions_by_expiry ON resumptions (expires_us);
"""

# v6: on the model's line of a turn, what the user heard of it (the page's report, which
# comes after the turn is stored) and the page's audio/video offset over it. Lines written
# before: NULL, not reported.
_SCHEMA_V6 = """
ALTER TABLE messages ADD COLUMN heard_text TEXT;
ALTER TABLE messages ADD COLUMN av_offset_ms REAL;
"""

# What brings a file from the version before each one to it, applied in order on open.
_MIGRATIONS = {
    1: _SCHEMA_V1,
    2: _SCHEMA_V2,
    3: _SCHEMA_V3,
    4: _SCHEMA_V4,
    5: _SCHEMA_V5,
    6: _SCHEMA_V6,
}


def connect(path: Path, *, busy_timeout_ms: int, synchronous: str) -> sqlite3.Connection:
    """A connection in autocommit mode: transactions are explicit BEGIN ... COMMIT."""
    conn = sqlite3.connect(
        path, timeout=busy_timeout_ms / 1000, isolation_level=None, check_same_thread=True
    )
    try:
        # busy_timeout first: switching to WAL itself takes a lock another process may hold.
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(f"could not switch {path} to WAL (got {mode})")
        # NORMAL in WAL mode: a committed turn survives a process crash; only a power loss
        # can drop the last commits. FULL adds an fsync to every commit.
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        conn.execute("PRAGMA foreign_keys = ON")
        # Case-insensitive search the same way as Firestore's (in-process) search.
        conn.create_function("fold", 1, _fold, deterministic=True)
    except BaseException:
        conn.close()
        raise
    return conn


def _fold(text: str | None) -> str | None:
    return None if text is None else fold(text)


def create_schema(conn: sqlite3.Connection) -> None:
    """Create the tables if absent, or migrate an older file to `SCHEMA_VERSION`, in one
    transaction under a write lock, so two processes can race safely."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        found = row[0] or 0
        if found > SCHEMA_VERSION:
            raise StoreError(
                f"database schema version {found} is newer than this code ({SCHEMA_VERSION})"
            )
        if found < SCHEMA_VERSION:
            for version in range(found + 1, SCHEMA_VERSION + 1):
                for statement in _statements(_MIGRATIONS[version]):
                    conn.execute(statement)
            conn.execute("DELETE FROM schema_version")
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _statements(script: str) -> list[str]:
    # executescript() would COMMIT the open transaction first, so run one statement at a time.
    lines = [ln for ln in script.splitlines() if not ln.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


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
