"""The SQLite file: connection settings and the versioned schema (created or migrated on
open). The columns, statements and row conversions the store runs are in `_sqlite_rows.py`.

Times are integer microseconds since the epoch (UTC): exact, and they sort.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from liveavatar.store._common import fold
from liveavatar.store.base import StoreError
from liveavatar.store.models import TOKEN_SUMS

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
