"""`SQLiteStore`: the embedded default, one WAL-mode file under the data dir.

Two threads own one connection each: a writer (every write is one `BEGIN IMMEDIATE`
transaction, in submission order) and a reader (WAL readers never wait for the writer).
Another process, such as the dashboard, may open the same file at the same time; SQLite's
file locks and busy timeout arbitrate between the processes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any, Literal

from liveavatar.store import _common as c
from liveavatar.store._sqlite_admin import SQLiteAdmin
from liveavatar.store._sqlite_av_offset import SQLiteAvOffset
from liveavatar.store._sqlite_costs import SQLiteCosts
from liveavatar.store._sqlite_daily import SQLiteDaily
from liveavatar.store._sqlite_resume import SQLiteResume
from liveavatar.store._sqlite_rows import (
    CONV_COLS,
    DAILY_UPSERT,
    END_UPDATE,
    MESSAGE_COLS,
    MESSAGE_INSERT,
    PLAYBACK_UPDATE,
    TURN_INSERT,
    TURN_UPDATE,
    USER_COLS,
    message_row,
    message_rows,
    summary_fields,
    turn_row,
    user_row,
)
from liveavatar.store._sqlite_schema import connect, create_schema
from liveavatar.store._sqlite_worker import Worker, execute_tx, read_tx, write_tx
from liveavatar.store.base import UNSET, NotFound, VersionConflict, _Unset
from liveavatar.store.models import (
    Conversation,
    ConversationSummary,
    TurnRecord,
    User,
    usable_av_offset,
)
from liveavatar.store.persona_config import PersonaConfig

DB_FILENAME = "liveavatar.db"
_PURGE_CHUNK = 500


class SQLiteStore(SQLiteCosts, SQLiteDaily, SQLiteAvOffset, SQLiteAdmin, SQLiteResume):
    """The `Store` protocol on one SQLite file (created, with its directory, on open)."""

    def __init__(
        self,
        path: Path,
        *,
        timeout_s: float = 10.0,
        busy_timeout_ms: int = 5000,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        max_pending: int = 4096,
    ) -> None:
        self.path = Path(path)
        self._schema_ready = threading.Event()

        def open_writer() -> sqlite3.Connection:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = connect(self.path, busy_timeout_ms=busy_timeout_ms, synchronous=synchronous)
            try:
                create_schema(conn)
            except BaseException:
                conn.close()
                raise
            finally:
                # Release the reader even on failure: it then fails on its own, with a cause.
                self._schema_ready.set()
            return conn

        def open_reader() -> sqlite3.Connection:
            self._schema_ready.wait(timeout_s)
            return connect(self.path, busy_timeout_ms=busy_timeout_ms, synchronous=synchronous)

        kw: dict[str, Any] = {"max_pending": max_pending, "timeout_s": timeout_s}
        self._writer = Worker("sqlite-writer", open_writer, **kw)
        self._reader = Worker("sqlite-reader", open_reader, **kw)
        self._close_timeout_s = timeout_s

    # Conversations

    async def start_conversation(
        self, id: str, user_id: str, at: dt.datetime, persona_version: int | None
    ) -> None:
        c.check_id(id)
        c.check_id(user_id, "user_id")
        sql = (
            "INSERT INTO conversations (id, user_id, started_us, persona_version)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
        )
        await self._writer.call(execute_tx(sql, (id, user_id, c.to_us(at), persona_version)))

    async def append_turn(self, conversation_id: str, turn: TurnRecord) -> bool:
        c.check_id(conversation_id, "conversation_id")
        ended_us = c.to_us(turn.ended_at)
        ttfa = turn.time_to_first_audio_ms
        day, daily = c.turn_daily(turn)
        messages = message_rows(conversation_id, turn)

        def append(db: sqlite3.Connection) -> bool:
            found = db.execute(
                "SELECT started_us FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
            if found is None:
                raise NotFound(f"conversation {conversation_id!r}")
            inserted = db.execute(TURN_INSERT, turn_row(conversation_id, turn)).rowcount
            if not inserted:
                return False  # this turn index is already stored: a retry
            db.executemany(MESSAGE_INSERT, messages)
            db.execute(
                TURN_UPDATE,
                (
                    int(turn.interrupted),
                    turn.turn_latency_ms,
                    ttfa or 0.0,
                    int(ttfa is not None),
                    turn.prompt_tokens,
                    turn.response_tokens,
                    *c.token_values(turn.tokens()),
                    ended_us,
                    conversation_id,
                ),
            )
            # In the turn's transaction: the day counts the turn exactly when it is stored.
            db.execute(DAILY_UPSERT, (day, *daily))
            return True

        return await self._writer.call(write_tx(append))

    async def record_playback(
        self, conversation_id: str, index: int, heard_text: str, av_offset_ms: float | None
    ) -> bool:
        av_offset_ms = usable_av_offset(av_offset_ms)  # one the dashboard could not show: none
        c.check_id(conversation_id, "conversation_id")
        values = (heard_text, av_offset_ms, conversation_id, index)

        def update(db: sqlite3.Connection) -> bool:
            return bool(db.execute(PLAYBACK_UPDATE, values).rowcount)

        return await self._writer.call(write_tx(update))

    async def end_conversation(
        self,
        conversation_id: str,
        at: dt.datetime,
        duration_s: float,
        *,
        errors: int = 0,
        part: str = "",
    ) -> bool:
        c.check_id(conversation_id, "conversation_id")
        c.end_marker(part)  # refuses what Firestore could not store, so both accept the same
        c.nonneg(duration_s=duration_s, errors=errors)
        ended_us = c.to_us(at)
        day, daily = c.end_daily(at, duration_s, errors)

        def end(db: sqlite3.Connection) -> bool:
            found = db.execute("SELECT 1 FROM conversations WHERE id = ?", (conversation_id,))
            if found.fetchone() is None:
                raise NotFound(f"conversation {conversation_id!r}")
            inserted = db.execute(
                "INSERT INTO conversation_ends VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (conversation_id, part, ended_us, duration_s, errors),
            ).rowcount
            if not inserted:
                return False  # this session's end is already recorded: a retry
            db.execute(END_UPDATE, (ended_us, duration_s, errors, conversation_id))
            # In the same transaction, so the day counts each session's end exactly once.
            db.execute(DAILY_UPSERT, (day, *daily))
            return True

        return await self._writer.call(write_tx(end))

    async def get_conversation(self, id: str) -> Conversation | None:
        c.check_id(id)

        def get(db: sqlite3.Connection) -> Conversation | None:
            row = db.execute(
                f"SELECT {CONV_COLS} FROM conversations WHERE id = ?", (id,)
            ).fetchone()
            if row is None:
                return None
            lines = db.execute(
                f"SELECT {MESSAGE_COLS} FROM messages"
                " WHERE conversation_id = ? ORDER BY turn_index, role DESC",  # user, then model
                (id,),
            ).fetchall()
            return Conversation(**summary_fields(row), messages=[message_row(r) for r in lines])

        return await self._reader.call(read_tx(get))

    async def list_conversations(
        self,
        *,
        user_id: str | None = None,
        before: dt.datetime | None = None,
        before_id: str | None = None,
        limit: int = 50,
    ) -> list[ConversationSummary]:
        # The listing is the search with no filter but the user (`_sqlite_admin.py`).
        return await self.search_conversations(
            user_id=user_id, before=before, before_id=before_id, limit=limit
        )

    # Users and usage

    async def ensure_user(self, id: str, email: str) -> User:
        c.check_id(id, "user id")
        now = c.to_us(dt.datetime.now(c.UTC))
        sql = (
            "INSERT INTO users (id, email, created_us) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING"
        )
        await self._writer.call(execute_tx(sql, (id, email, now)))
        user = await self.get_user(id)
        if user is None:  # deleted in between by another process
            raise NotFound(f"user {id!r}")
        return user

    async def get_user(self, id: str) -> User | None:
        c.check_id(id, "user id")

        def get(db: sqlite3.Connection) -> User | None:
            row = db.execute(f"SELECT {USER_COLS} FROM users WHERE id = ?", (id,)).fetchone()
            return None if row is None else user_row(row)

        return await self._reader.call(get)

    async def list_users(self, limit: int = 50, after_id: str | None = None) -> list[User]:
        c.check_limit(limit)
        sql = f"SELECT {USER_COLS} FROM users WHERE id > ? ORDER BY id LIMIT ?"
        return await self._reader.call(
            lambda db: [user_row(r) for r in db.execute(sql, (after_id or "", limit))]
        )

    async def update_user(
        self,
        id: str,
        *,
        quota_minutes_per_day: float | None | _Unset = UNSET,
        settings: dict[str, Any] | _Unset = UNSET,
        blocked: bool | _Unset = UNSET,
    ) -> User:
        c.check_id(id, "user id")
        sets: list[str] = []
        args: list[Any] = []
        if not isinstance(quota_minutes_per_day, _Unset):
            if quota_minutes_per_day is not None:
                c.nonneg(quota_minutes_per_day=quota_minutes_per_day)
            sets.append("quota_minutes_per_day = ?")
            args.append(quota_minutes_per_day)
        if not isinstance(settings, _Unset):
            sets.append("settings_json = ?")
            args.append(json.dumps(settings))
        if not isinstance(blocked, _Unset):
            sets.append("blocked = ?")
            args.append(bool(blocked))
        if sets:
            sql = f"UPDATE users SET {', '.join(sets)} WHERE id = ?"
            if not await self._writer.call(execute_tx(sql, (*args, id))):
                raise NotFound(f"user {id!r}")
        user = await self.get_user(id)
        if user is None:
            raise NotFound(f"user {id!r}")
        return user

    async def add_usage(self, user_id: str, date: dt.date | str, seconds: float) -> float:
        c.check_id(user_id, "user_id")
        c.nonneg(seconds=seconds)
        day = c.day_str(date)
        row = await self._writer.call(
            write_tx(
                lambda db: db.execute(
                    "INSERT INTO usage (user_id, date, seconds) VALUES (?, ?, ?)"
                    " ON CONFLICT DO UPDATE SET seconds = seconds + excluded.seconds"
                    " RETURNING seconds",
                    (user_id, day, seconds),
                ).fetchone()
            )
        )
        return float(row[0])

    async def get_usage(self, user_id: str, date: dt.date | str) -> float:
        args = (c.check_id(user_id, "user_id"), c.day_str(date))
        sql = "SELECT seconds FROM usage WHERE user_id = ? AND date = ?"
        row = await self._reader.call(lambda db: db.execute(sql, args).fetchone())
        return 0.0 if row is None else float(row[0])

    # Persona

    async def get_persona(self) -> PersonaConfig | None:
        sql = "SELECT config_json FROM persona_versions ORDER BY version DESC LIMIT 1"
        row = await self._reader.call(lambda db: db.execute(sql).fetchone())
        return None if row is None else PersonaConfig.model_validate_json(row[0])

    async def put_persona(
        self, config: PersonaConfig, *, expected_version: int | None
    ) -> PersonaConfig:
        config.check_model()
        now = dt.datetime.now(c.UTC)

        def put(db: sqlite3.Connection) -> PersonaConfig:
            current = db.execute("SELECT MAX(version) FROM persona_versions").fetchone()[0] or 0
            if expected_version is not None and expected_version != current:
                raise VersionConflict(
                    f"persona is at version {current}, the edit started from {expected_version}"
                )
            saved = config.model_copy(update={"version": current + 1, "updated_at": now})
            db.execute(
                "INSERT INTO persona_versions VALUES (?, ?, ?, ?)",
                (saved.version, saved.model_dump_json(), c.to_us(now), saved.updated_by),
            )
            return saved

        return await self._writer.call(write_tx(put))

    # Retention and lifecycle

    async def delete_conversations_before(self, at: dt.datetime) -> int:
        cutoff = c.to_us(at)

        def chunk(db: sqlite3.Connection) -> int:
            # Chunked so a large purge never holds the write lock for long; turns and
            # messages go with their conversation (ON DELETE CASCADE).
            return db.execute(
                "DELETE FROM conversations WHERE id IN"
                " (SELECT id FROM conversations WHERE started_us < ? LIMIT ?)",
                (cutoff, _PURGE_CHUNK),
            ).rowcount

        total = 0
        while deleted := await self._writer.call(write_tx(chunk)):
            total += deleted
        return total

    async def ping(self) -> None:
        await self._reader.call(lambda db: db.execute("SELECT 1").fetchone())
        await self._writer.call(lambda db: db.execute("SELECT 1").fetchone())

    async def close(self) -> None:
        for worker in (self._writer, self._reader):
            await asyncio.to_thread(worker.close, self._close_timeout_s)


__all__ = ["DB_FILENAME", "SQLiteStore"]
