"""SQLite-only behaviour: the file itself, its schema, and two processes at once."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import sys
from pathlib import Path

import pytest

from liveavatar.store import (
    DB_FILENAME,
    Source,
    SQLiteStore,
    StoreUnavailable,
    ToolCallRecord,
    TurnRecord,
    UserDay,
)
from liveavatar.store._common import to_us
from liveavatar.store._sqlite_schema import (
    _SCHEMA_V1,
    _SCHEMA_V2,
    _SCHEMA_V3,
    SCHEMA_VERSION,
    _statements,
)

REPO = Path(__file__).resolve().parents[3]
T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
DAY = "2024-05-01"


async def write_sessions(store: SQLiteStore, prefix: str, count: int) -> None:
    """`count` conversations of three turns, each counted in the daily metrics and usage.

    The turns reach the daily metrics through `append_turn` itself; only the session start
    is counted with `increment_daily`.
    """
    for n in range(count):
        cid = f"{prefix}-{n:03d}"
        await store.start_conversation(cid, prefix, T0 + dt.timedelta(seconds=n), None)
        await store.increment_daily(DAY, sessions=1)
        for i in range(3):
            began = T0 + dt.timedelta(seconds=n + i)
            turn = TurnRecord(
                index=i,
                user_text=f"{cid} q{i}",
                model_text=f"{cid} a{i}",
                started_at=began,
                ended_at=began + dt.timedelta(milliseconds=900),
                turn_latency_ms=400.0,
            )
            assert await store.append_turn(cid, turn)  # counts the turn in DAY too
        await store.add_usage(prefix, DAY, 2.5)


def _query(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


async def test_the_file_is_wal_mode_and_versioned(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "data" / DB_FILENAME
    store = SQLiteStore(path)
    await store.ping()
    await store.close()
    assert path.is_file()
    assert await asyncio.to_thread(_query, path, "PRAGMA journal_mode") == [("wal",)]
    assert await asyncio.to_thread(_query, path, "SELECT version FROM schema_version") == [
        (SCHEMA_VERSION,)
    ]


def _write_v1_file(path: Path) -> None:
    """A file as version 1 left it: one conversation ended (once, as v1 recorded ends),
    one still running."""
    with sqlite3.connect(path) as conn:
        for statement in _statements(_SCHEMA_V1):
            conn.execute(statement)
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO schema_version VALUES (1)")
        conn.execute(
            "INSERT INTO conversations (id, user_id, started_us, ended_us, duration_s, errors)"
            " VALUES ('ended', 'u1', ?, ?, 30.0, 1), ('running', 'u1', ?, NULL, 12.0, 0)",
            (to_us(T0), to_us(T0 + dt.timedelta(seconds=30)), to_us(T0)),
        )
    conn.close()


async def test_a_version_1_file_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / DB_FILENAME
    await asyncio.to_thread(_write_v1_file, path)
    store = SQLiteStore(path)
    try:
        # The end v1 recorded is the default part's: its retry is still a no-op ...
        assert not await store.end_conversation("ended", T0 + dt.timedelta(minutes=5), 9.0)
        # ... and a resumed session's end adds to it.
        later = T0 + dt.timedelta(hours=1)
        assert await store.end_conversation("ended", later, 20.0, errors=1, part="2")
        conv = await store.get_conversation("ended")
        assert conv is not None
        assert conv.ended_at == later and conv.duration_s == 50.0 and conv.metrics.errors == 2
        # A conversation v1 left running ends as any other does.
        assert await store.end_conversation("running", later, 15.0)
        conv = await store.get_conversation("running")
        assert conv is not None and conv.ended_at == later and conv.duration_s == 15.0
        assert (await store.get_daily(DAY)).ended_sessions == 2
    finally:
        await store.close()
    versions = await asyncio.to_thread(_query, path, "SELECT version FROM schema_version")
    assert versions == [(SCHEMA_VERSION,)]
    # Opening it again is a no-op.
    store = SQLiteStore(path)
    try:
        assert not await store.end_conversation("ended", later, 20.0, part="2")
    finally:
        await store.close()


def _write_v2_file(path: Path) -> None:
    """A file as version 2 left it: a conversation with one turn (its positional row of
    nine columns), its two lines, the day's totals and a user's talk time."""
    ended = T0 + dt.timedelta(seconds=2)
    with sqlite3.connect(path) as conn:
        for statement in _statements(_SCHEMA_V1) + _statements(_SCHEMA_V2):
            conn.execute(statement)
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO schema_version VALUES (2)")
        conn.execute(
            "INSERT INTO conversations (id, user_id, started_us, turns, latency_ms_sum,"
            " latency_count, prompt_tokens, response_tokens) VALUES ('old', 'u1', ?, 1, 500, 1,"
            " 10, 20)",
            (to_us(T0),),
        )
        conn.execute(
            "INSERT INTO turns VALUES ('old', 0, 0, ?, ?, 250.0, 500.0, 10, 20)",
            (to_us(T0), to_us(ended)),
        )
        conn.execute("INSERT INTO messages VALUES ('old', 0, 'user', 'hi', ?, 0)", (to_us(T0),))
        conn.execute(
            "INSERT INTO messages VALUES ('old', 0, 'model', 'hello', ?, 0)", (to_us(ended),)
        )
        conn.execute(
            "INSERT INTO daily_metrics (date, turns, latency_ms_sum, latency_count,"
            " prompt_tokens, response_tokens) VALUES (?, 1, 500, 1, 10, 20)",
            (DAY,),
        )
        conn.execute("INSERT INTO usage VALUES ('u1', ?, 42.0)", (DAY,))
    conn.close()


async def test_a_version_2_file_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / DB_FILENAME
    await asyncio.to_thread(_write_v2_file, path)
    store = SQLiteStore(path)
    try:
        # What v2 stored reads as before, with no usage by modality, cost or sources.
        old = await store.get_conversation("old")
        assert old is not None
        assert [(m.role, m.text, m.sources) for m in old.messages] == [
            ("user", "hi", []),
            ("model", "hello", []),
        ]
        assert old.metrics.prompt_tokens == 10 and old.metrics.cost_usd == 0.0
        assert old.metrics.input_audio_tokens == 0
        assert await store.get_usage("u1", DAY) == 42.0 and await store.get_cost("u1", DAY) == 0
        # The next turn keeps all of it.
        began = T0 + dt.timedelta(seconds=10)
        source = Source(title="Paris", uri="https://paris.example/")
        assert await store.append_turn(
            "old",
            TurnRecord(
                index=1,
                user_text="how tall is the eiffel tower",
                model_text="About 330 metres.",
                started_at=began,
                ended_at=began + dt.timedelta(seconds=2),
                turn_latency_ms=400.0,
                prompt_tokens=7,
                input_audio_tokens=5,
                output_audio_tokens=9,
                cost_usd=0.5,
                sources=[source],
                search_queries=["eiffel tower height"],
            ),
        )
        assert not await store.append_turn(  # the v2 turn's key still holds
            "old",
            TurnRecord(index=0, started_at=T0, ended_at=T0, turn_latency_ms=1.0),
        )
        conv = await store.get_conversation("old")
        assert conv is not None and conv.messages[-1].sources == [source]
        m = conv.metrics
        assert (m.turns, m.prompt_tokens, m.input_audio_tokens, m.cost_usd) == (2, 17, 5, 0.5)
        day = await store.get_daily(DAY)
        assert (day.total_turns, day.output_audio_tokens, day.cost_usd) == (2, 9, 0.5)
        assert await store.add_cost("u1", DAY, 0.25) == 0.25
        assert await store.get_usage("u1", DAY) == 42.0
    finally:
        await store.close()
    stored = await asyncio.to_thread(
        _query, path, "SELECT queries_json, cost_usd FROM turns WHERE turn_index = 1"
    )
    assert stored == [('["eiffel tower height"]', 0.5)]
    versions = await asyncio.to_thread(_query, path, "SELECT version FROM schema_version")
    assert versions == [(SCHEMA_VERSION,)]


def _write_v3_file(path: Path) -> None:
    """A file as version 3 left it: a user, a conversation with one turn of v3's columns,
    its lines, the day's totals and the user's talk time and cost."""
    ended = T0 + dt.timedelta(seconds=2)
    with sqlite3.connect(path) as conn:
        for script in (_SCHEMA_V1, _SCHEMA_V2, _SCHEMA_V3):
            for statement in _statements(script):
                conn.execute(statement)
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO schema_version VALUES (3)")
        conn.execute(
            "INSERT INTO users (id, email, created_us) VALUES ('u1', 'ada@example.com', ?)",
            (to_us(T0),),
        )
        conn.execute(
            "INSERT INTO conversations (id, user_id, started_us, turns, latency_ms_sum,"
            " latency_count) VALUES ('old', 'u1', ?, 1, 500, 1)",
            (to_us(T0),),
        )
        conn.execute(
            "INSERT INTO turns (conversation_id, turn_index, interrupted, started_us, ended_us,"
            " ttfa_ms, latency_ms, prompt_tokens, response_tokens, cost_usd, queries_json)"
            " VALUES ('old', 0, 0, ?, ?, 250.0, 500.0, 10, 20, 0.5, '[\"q\"]')",
            (to_us(T0), to_us(ended)),
        )
        conn.execute(
            "INSERT INTO messages VALUES ('old', 0, 'user', 'hi', ?, 0, '[]')", (to_us(T0),)
        )
        conn.execute(
            "INSERT INTO daily_metrics (date, turns, latency_ms_sum, latency_count)"
            " VALUES (?, 1, 500, 1)",
            (DAY,),
        )
        conn.execute("INSERT INTO usage VALUES ('u1', ?, 42.0, 0.5)", (DAY,))
    conn.close()


async def test_a_version_3_file_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / DB_FILENAME
    await asyncio.to_thread(_write_v3_file, path)
    store = SQLiteStore(path)
    try:
        # What v3 stored reads as before: not blocked, no tool calls, no counters.
        user = await store.get_user("u1")
        assert user is not None and not user.blocked and user.email == "ada@example.com"
        turns = await store.get_turns("old")
        assert [(t.index, t.user_text, t.model_text, t.tool_calls) for t in turns] == [
            (0, "hi", "", [])
        ]
        assert turns[0].cost_usd == 0.5 and turns[0].search_queries == ["q"]
        day = await store.get_daily(DAY)
        assert day.total_turns == 1 and day.counters == {}
        # The old turn is in the day's percentiles (the new index covers existing rows).
        latency = await store.daily_latency(DAY, DAY)
        assert (latency[0].turns, latency[0].ttfa_p50_ms, latency[0].latency_p95_ms) == (
            1,
            250.0,
            500.0,
        )
        assert await store.list_user_days(DAY, DAY) == [
            UserDay(user_id="u1", date=DAY, seconds=42.0, cost_usd=0.5)
        ]
        # And the new columns and table take writes.
        assert (await store.update_user("u1", blocked=True)).blocked
        await store.increment_daily(DAY, counters={"live.rotation": 2})
        assert (await store.get_daily(DAY)).counters == {"live.rotation": 2}
        call = ToolCallRecord(name="get_time", result="noon")
        began = T0 + dt.timedelta(seconds=10)
        assert await store.append_turn(
            "old",
            TurnRecord(
                index=1,
                started_at=began,
                ended_at=began,
                turn_latency_ms=1.0,
                tool_calls=[call],
            ),
        )
        assert (await store.get_turns("old"))[1].tool_calls == [call]
        assert [c.id for c in await store.search_conversations(text="HI")] == ["old"]
    finally:
        await store.close()
    versions = await asyncio.to_thread(_query, path, "SELECT version FROM schema_version")
    assert versions == [(SCHEMA_VERSION,)]
    plan = await asyncio.to_thread(
        _query,
        path,
        "EXPLAIN QUERY PLAN SELECT ttfa_ms, latency_ms FROM turns"
        " WHERE ended_us >= 0 AND ended_us < 1",
    )
    assert "turns_by_end" in str(plan)


async def test_data_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / DB_FILENAME
    first = SQLiteStore(path)
    await write_sessions(first, "a", 2)
    await first.close()
    second = SQLiteStore(path)
    conv = await second.get_conversation("a-001")
    assert conv is not None and conv.metrics.turns == 3
    assert (await second.get_daily(DAY)).total_turns == 6
    await second.close()


async def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / DB_FILENAME
    store = SQLiteStore(path)
    await store.ping()
    await store.close()
    await asyncio.to_thread(_query, path, "UPDATE schema_version SET version = 99")
    newer = SQLiteStore(path)
    with pytest.raises(StoreUnavailable, match="newer"):
        await newer.ping()
    await newer.close()


async def test_two_processes_write_the_same_file_at_once(tmp_path: Path) -> None:
    path = tmp_path / DB_FILENAME
    count = 40
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.integration.store._writer",
        str(path),
        "child",
        str(count),
        cwd=REPO,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdin is not None and child.stdout is not None
    # Both processes open (and may create) the file at the same moment.
    store = SQLiteStore(path)
    try:
        async with asyncio.timeout(60):
            await store.ping()
            assert await child.stdout.readline() == b"ready\n"
            child.stdin.write(b"go\n")
            await child.stdin.drain()
            reads = asyncio.create_task(_read_while_writing(store))
            await write_sessions(store, "parent", count)
            assert await child.stdout.readline() == b"done\n"
            assert await child.wait() == 0
            await reads
        day = await store.get_daily(DAY)
        assert (day.total_sessions, day.total_turns) == (2 * count, 6 * count)
        assert day.avg_latency_ms == 400.0
        for prefix in ("parent", "child"):
            listed = await store.list_conversations(user_id=prefix, limit=1000)
            assert len(listed) == count and all(c.metrics.turns == 3 for c in listed)
            assert await store.get_usage(prefix, DAY) == 2.5 * count
        conv = await store.get_conversation("child-007")
        assert conv is not None and len(conv.messages) == 6
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
        await store.close()


async def _read_while_writing(store: SQLiteStore) -> None:
    # The dashboard reads while the backend writes; WAL readers never see a torn turn.
    for _ in range(30):
        for summary in await store.list_conversations(limit=5):
            conv = await store.get_conversation(summary.id)
            assert conv is not None
            assert len(conv.messages) == 2 * conv.metrics.turns <= 6


async def test_offsets_stored_by_something_else_are_read_as_not_measured(
    tmp_path: Path,
) -> None:
    # A REAL column still keeps text, and infinity: whatever wrote them, the dashboard's
    # reads neither fail nor count them.
    path = tmp_path / DB_FILENAME
    store = SQLiteStore(path)
    await store.start_conversation("c1", "u1", T0, None)
    for n in range(3):
        at = T0 + dt.timedelta(seconds=10 * n)
        record = TurnRecord(
            index=n, model_text=f"answer {n}", started_at=at, ended_at=at, turn_latency_ms=1.0
        )
        assert await store.append_turn("c1", record)
        assert await store.record_playback("c1", n, f"answer {n}", 12.0)
    await store.close()
    with sqlite3.connect(path) as conn:
        for n, value in enumerate(("twelve", float("inf"))):
            conn.execute(
                "UPDATE messages SET av_offset_ms = ? WHERE turn_index = ? AND role = 'model'",
                (value, n),
            )
    store = SQLiteStore(path)
    try:
        assert (await store.av_offset(DAY, DAY)).answers == 1
        assert [t.av_offset_ms for t in await store.get_turns("c1")] == [None, None, 12.0]
        conv = await store.get_conversation("c1")
        assert conv is not None
        assert [m.av_offset_ms for m in conv.messages if m.role == "model"] == [None, None, 12.0]
    finally:
        await store.close()
