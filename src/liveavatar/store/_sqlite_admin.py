"""What the dashboard asks of the SQLite file beyond the backend's writes: searching
conversations, reading their turns, deleting them (one, or all of a user's data), finding
users, resetting a day's usage, every user's days, and the persona's history.

Text search scans the transcript lines of the conversations the other filters leave,
newest first, stopping at `limit` matches (`instr` on case-folded text: no pattern
characters, so `%`, `_` and quotes are literal). Mixed into `SQLiteStore`.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from typing import Any

from liveavatar.store import _common as c
from liveavatar.store._sqlite_rows import CONV_COLS, USER_COLS, summary_fields, user_row
from liveavatar.store._sqlite_worker import Worker, execute_tx, read_tx, write_tx
from liveavatar.store.day_totals import UserDay
from liveavatar.store.models import (
    TOKEN_SUMS,
    ConversationSummary,
    Source,
    ToolCallRecord,
    TurnRecord,
    User,
)
from liveavatar.store.persona_config import PersonaConfig

_LINE = (
    "(SELECT {col} FROM messages m WHERE m.conversation_id = t.conversation_id"
    " AND m.turn_index = t.turn_index AND m.role = '{role}')"
)
_TURNS = (
    "SELECT turn_index, interrupted, started_us, ended_us, ttfa_ms, latency_ms, prompt_tokens,"
    " response_tokens, sources_json, queries_json, tool_calls_json, "
    + ", ".join(TOKEN_SUMS)
    + f", {_LINE.format(col='text', role='user')}, {_LINE.format(col='text', role='model')}"
    + f", {_LINE.format(col='heard_text', role='model')}"
    + f", {_LINE.format(col='av_offset_ms', role='model')}"
    " FROM turns t WHERE conversation_id = ? ORDER BY turn_index"
)
_HAS_TEXT = (
    "EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = conversations.id"
    " AND instr(fold(m.text), ?) > 0)"
)
_USER_DAYS = "SELECT user_id, date, seconds, cost_usd FROM usage WHERE date BETWEEN ? AND ?"


def _turn(row: tuple[Any, ...]) -> TurnRecord:
    (index, interrupted, started_us, ended_us, ttfa, latency, p_tok, r_tok) = row[:8]
    sources_json, queries_json, tools_json = row[8:11]
    tokens = row[11 : 11 + len(TOKEN_SUMS)]
    user_text, model_text, heard_text, av_offset_ms = row[11 + len(TOKEN_SUMS) :]
    return TurnRecord(
        index=index,
        user_text=user_text or "",
        model_text=model_text or "",
        interrupted=bool(interrupted),
        started_at=c.from_us(started_us),
        ended_at=c.from_us(ended_us),
        time_to_first_audio_ms=ttfa,
        turn_latency_ms=latency,
        prompt_tokens=p_tok,
        response_tokens=r_tok,
        sources=[Source.model_validate(s) for s in json.loads(sources_json)],
        search_queries=json.loads(queries_json),
        tool_calls=[ToolCallRecord.model_validate(t) for t in json.loads(tools_json)],
        heard_text=heard_text,
        av_offset_ms=av_offset_ms,
        **dict(zip(TOKEN_SUMS, tokens, strict=True)),
    )


class SQLiteAdmin:
    """The dashboard's queries and privacy deletions on SQLite (mixed into `SQLiteStore`)."""

    _writer: Worker
    _reader: Worker

    async def search_conversations(
        self,
        *,
        user_id: str | None = None,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        text: str | None = None,
        before: dt.datetime | None = None,
        before_id: str | None = None,
        limit: int = 50,
    ) -> list[ConversationSummary]:
        """Conversations newest first, filtered by user, start time and transcript text."""
        c.check_limit(limit)
        c.check_window(start, end, before, before_id)
        needle = c.search_needle(text)
        where: list[str] = []
        args: list[Any] = []
        if user_id is not None:
            where.append("user_id = ?")
            args.append(user_id)
        if start is not None:
            where.append("started_us >= ?")
            args.append(c.to_us(start))
        if end is not None:
            where.append("started_us < ?")
            args.append(c.to_us(end))
        if before is not None and before_id is not None:
            where.append("(started_us, id) < (?, ?)")
            args += [c.to_us(before), before_id]
        elif before is not None:
            where.append("started_us < ?")
            args.append(c.to_us(before))
        if needle is not None:
            where.append(_HAS_TEXT)
            args.append(needle)
        sql = f"SELECT {CONV_COLS} FROM conversations"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY started_us DESC, id DESC LIMIT ?"
        args.append(limit)

        def query(db: sqlite3.Connection) -> list[ConversationSummary]:
            return [ConversationSummary(**summary_fields(r)) for r in db.execute(sql, args)]

        return await self._reader.call(query)

    async def get_turns(self, conversation_id: str) -> list[TurnRecord]:
        """A conversation's stored turns by index, with their lines' texts."""
        args = (c.check_id(conversation_id, "conversation id"),)

        def query(db: sqlite3.Connection) -> list[TurnRecord]:
            return [_turn(r) for r in db.execute(_TURNS, args)]

        return await self._reader.call(read_tx(query))

    async def delete_conversation(self, id: str) -> bool:
        """Delete one conversation; its turns, lines and session ends go with it (ON DELETE
        CASCADE). The day totals stay."""
        sql = "DELETE FROM conversations WHERE id = ?"
        return bool(await self._writer.call(execute_tx(sql, (c.check_id(id),))))

    async def delete_user_data(self, user_id: str) -> list[str]:
        """Every conversation of the user, their usage days and their record, in one
        transaction; the deleted conversations' ids."""
        args = (c.check_id(user_id, "user id"),)

        def delete(db: sqlite3.Connection) -> list[str]:
            rows = db.execute(
                "DELETE FROM conversations WHERE user_id = ? RETURNING id", args
            ).fetchall()
            db.execute("DELETE FROM usage WHERE user_id = ?", args)
            db.execute("DELETE FROM users WHERE id = ?", args)
            return sorted(r[0] for r in rows)

        return await self._writer.call(write_tx(delete))

    async def find_users(self, text: str = "", *, limit: int = 50) -> list[User]:
        """Users whose id or email contains `text` (case-insensitive), ordered by id."""
        c.check_limit(limit)
        needle = c.search_needle(text)
        sql = f"SELECT {USER_COLS} FROM users"
        args: list[Any] = []
        if needle is not None:
            sql += " WHERE instr(fold(id), ?) > 0 OR instr(fold(email), ?) > 0"
            args += [needle, needle]
        sql += " ORDER BY id LIMIT ?"
        args.append(limit)
        return await self._reader.call(lambda db: [user_row(r) for r in db.execute(sql, args)])

    async def reset_usage(self, user_id: str, date: dt.date | str) -> None:
        """A user's talk time and cost on one day back to 0 (nothing to do if none)."""
        args = (c.check_id(user_id, "user_id"), c.day_str(date))
        sql = "UPDATE usage SET seconds = 0, cost_usd = 0 WHERE user_id = ? AND date = ?"
        await self._writer.call(execute_tx(sql, args))

    async def list_user_days(
        self,
        start_date: dt.date | str,
        end_date: dt.date | str,
        *,
        user_id: str | None = None,
    ) -> list[UserDay]:
        """Each (user, day) of the inclusive range with talk time or cost, by date then user."""
        days = c.day_range(start_date, end_date)
        if not days:
            return []
        sql = _USER_DAYS
        args: list[Any] = [days[0], days[-1]]
        if user_id is not None:
            sql += " AND user_id = ?"
            args.append(c.check_id(user_id, "user_id"))
        sql += " AND (seconds > 0 OR cost_usd > 0) ORDER BY date, user_id"

        def query(db: sqlite3.Connection) -> list[UserDay]:
            return [
                UserDay(user_id=u, date=d, seconds=s, cost_usd=cost)
                for u, d, s, cost in db.execute(sql, args)
            ]

        return await self._reader.call(query)

    async def list_persona_versions(self, limit: int = 50) -> list[PersonaConfig]:
        """Saved persona versions, newest first."""
        c.check_limit(limit)
        sql = "SELECT config_json FROM persona_versions ORDER BY version DESC LIMIT ?"
        rows = await self._reader.call(lambda db: db.execute(sql, (limit,)).fetchall())
        return [PersonaConfig.model_validate_json(r[0]) for r in rows]

    async def get_persona_version(self, version: int) -> PersonaConfig | None:
        """One saved persona version, or None."""
        sql = "SELECT config_json FROM persona_versions WHERE version = ?"
        row = await self._reader.call(lambda db: db.execute(sql, (int(version),)).fetchone())
        return None if row is None else PersonaConfig.model_validate_json(row[0])
