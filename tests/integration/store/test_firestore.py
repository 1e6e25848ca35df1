"""Firestore-only behaviour: the seed's document layout, and an unreachable server."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest
from google.cloud.firestore import AsyncClient, FieldFilter

from liveavatar.store import (
    NotFound,
    PersonaConfig,
    StoreError,
    StoreUnavailable,
    TurnRecord,
    _firestore_admin,
)
from liveavatar.store.firestore import FirestoreStore
from tests.support.procs import free_port

from ._firestore_indexes import enforce_indexes
from ._firestore_size import MAX_DOCUMENT_BYTES, document_sizes
from .conftest import PROJECT, FirestoreEmulator

T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
async def raw(firestore_store: FirestoreStore) -> AsyncIterator[AsyncClient]:
    """A plain client on the same emulator (FIRESTORE_EMULATOR_HOST is set by then)."""
    client = AsyncClient(project=PROJECT)
    yield client
    api = client._firestore_api_internal
    if api is not None:
        await api.transport.close()


async def test_documents_use_the_seed_collections(
    firestore_store: FirestoreStore, raw: AsyncClient
) -> None:
    store = firestore_store
    await store.start_conversation("c1", "u1", T0, 2)
    turn = TurnRecord(
        index=0,
        user_text="hi",
        model_text="hello",
        started_at=T0,
        ended_at=T0 + dt.timedelta(seconds=2),
        turn_latency_ms=300.0,
    )
    await store.append_turn("c1", turn)
    await store.end_conversation("c1", T0 + dt.timedelta(seconds=5), 5.0)
    await store.end_conversation("c1", T0 + dt.timedelta(seconds=60), 7.0, part="123")
    await store.increment_daily("2024-05-01", sessions=1, errors=2)
    await store.ensure_user("u1", "ada@example.com")
    await store.add_usage("u1", "2024-05-01", 60.0)
    await store.put_persona(
        PersonaConfig(name="A", model="gemini-3.8-live", voice="v"), expected_version=0
    )

    conv = (await raw.collection("conversations").document("c1").get()).to_dict()
    assert conv is not None
    assert conv["userId"] == "u1" and conv["timestamp"] == T0 and conv["duration"] == 12.0
    assert conv["sessionEnds"] == [T0 + dt.timedelta(seconds=5), T0 + dt.timedelta(seconds=60)]
    # The transcript lives in the turns, never in the growing conversation document.
    assert "messages" not in conv
    assert conv["turns"] == 1 and conv["latencyMsSum"] == 300.0
    stored = (await raw.document("conversations/c1/turns/000000").get()).to_dict()
    assert stored is not None and (stored["user_text"], stored["model_text"]) == ("hi", "hello")
    # One end marker per session: the default part's keeps the id ends had before parts.
    for marker in ("ended", "ended-123"):
        assert (await raw.document(f"conversations/c1/markers/{marker}").get()).exists
    day = await _day_sums(raw, "2024-05-01")
    assert day["totalSessions"] == 1 and day["errorCount"] == 2
    # The turn and the end added themselves to their day in their own batches.
    assert day["totalTurns"] == 1 and day["latencyMsSum"] == 300.0 and day["latencyCount"] == 1
    assert day["endedSessions"] == 2 and day["durationSSum"] == 12.0
    user = (await raw.collection("users").document("u1").get()).to_dict()
    assert user is not None and user["email"] == "ada@example.com" and user["settings"] == {}
    usage = (await raw.document("users/u1/usage/2024-05-01").get()).to_dict()
    assert usage is not None and usage["seconds"] == 60.0
    persona = (await raw.collection("config").document("persona").get()).to_dict()
    assert persona is not None and persona["version"] == 1 and persona["model"] == "gemini-3.8-live"
    assert (await raw.document("config/persona/versions/000001").get()).exists


async def _day_sums(raw: AsyncClient, day: str) -> dict[str, float]:
    """A day's totals summed over its shards, as the store reads them."""
    sums: dict[str, float] = {}
    query = raw.collection("metrics").where(filter=FieldFilter("date", "==", day))
    async for snap in query.stream():
        assert snap.id.startswith(f"{day}|")
        for field, value in (snap.to_dict() or {}).items():
            if field != "date":
                sums[field] = sums.get(field, 0) + value
    return sums


async def test_a_days_writes_spread_over_shards_and_read_as_one(
    firestore_store: FirestoreStore, raw: AsyncClient
) -> None:
    for _ in range(24):
        await firestore_store.increment_daily("2024-05-01", sessions=1, counters={"x.y": 1})
    shards = raw.collection("metrics").where(filter=FieldFilter("date", "==", "2024-05-01"))
    ids = [s.id async for s in shards.stream()]
    # 24 random picks of 64 shards all landing on one happens once in 64**23 runs.
    assert len(ids) > 1 and all(i.startswith("2024-05-01|") for i in ids)
    day = await firestore_store.get_daily("2024-05-01")
    assert day.total_sessions == 24 and day.counters == {"x.y": 24}


async def test_an_unsharded_day_of_an_earlier_version_counts_as_one_more_shard(
    firestore_store: FirestoreStore, raw: AsyncClient
) -> None:
    await raw.document("metrics/2024-05-01").set(
        {"date": "2024-05-01", "totalSessions": 5, "totalTurns": 7, "latencyMsSum": 70.0}
    )
    old_counter = {"date": "2024-05-01", "name": "x.y", "n": 3}
    await raw.document("dailyCounters/2024-05-01|x.y").set(old_counter)
    await firestore_store.increment_daily("2024-05-01", sessions=1, counters={"x.y": 2})
    (day,) = await firestore_store.list_daily("2024-05-01", "2024-05-01")
    assert (day.total_sessions, day.total_turns, day.latency_ms_sum) == (6, 7, 70.0)
    assert day.counters == {"x.y": 5}


async def test_a_failed_append_leaves_no_turn_marker(
    firestore_store: FirestoreStore, raw: AsyncClient
) -> None:
    turn = TurnRecord(index=0, started_at=T0, ended_at=T0, turn_latency_ms=1.0)
    with pytest.raises(NotFound):
        await firestore_store.append_turn("ghost", turn)
    # The emulator applies a batch up to its failing write; the store undoes that write.
    assert not (await raw.document("conversations/ghost/turns/000000").get()).exists


async def test_an_unreachable_server_is_unavailable_not_a_hang(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{free_port()}")
    store = FirestoreStore(project=PROJECT, timeout_s=1.0)
    try:
        with pytest.raises(StoreUnavailable):
            await store.ping()
        with pytest.raises(StoreUnavailable):
            await store.increment_daily("2024-05-01", sessions=1)
    finally:
        await store.close()


async def test_the_dashboards_documents(firestore_store: FirestoreStore, raw: AsyncClient) -> None:
    store = firestore_store
    await store.start_conversation("c1", "u1", T0, None)
    turn = TurnRecord(
        index=3,
        user_text="hi",
        started_at=T0,
        ended_at=T0 + dt.timedelta(seconds=2),
        time_to_first_audio_ms=120.0,
        turn_latency_ms=300.0,
    )
    assert await store.append_turn("c1", turn)
    times = (await raw.document("turnTimes/c1|000003").get()).to_dict()
    assert times == {
        "conversationId": "c1",
        "endedAt": T0 + dt.timedelta(seconds=2),
        "ttfaMs": 120.0,
        "latencyMs": 300.0,
        "avOffsetMs": None,
    }
    await store.increment_daily("2024-05-01", counters={"live.rotation": 2})
    counters = raw.collection("dailyCounters").where(filter=FieldFilter("date", "==", "2024-05-01"))
    (counter,) = [(s.id.rsplit("|", 1)[0], s.to_dict()) async for s in counters.stream()]
    assert counter == (
        "2024-05-01|live.rotation",
        {"date": "2024-05-01", "name": "live.rotation", "n": 2},
    )
    await store.add_usage("u1", "2024-05-01", 30.0)
    await store.add_cost("u1", "2024-05-01", 0.5)
    day = (await raw.document("userDays/2024-05-01|u1").get()).to_dict()
    assert day == {"userId": "u1", "date": "2024-05-01", "seconds": 30.0, "costUsd": 0.5}
    # Deleting the conversation takes its turn times; deleting the user, their days.
    assert await store.delete_conversation("c1")
    assert not (await raw.document("turnTimes/c1|000003").get()).exists
    assert not (await raw.document("conversations/c1/turns/000003").get()).exists
    await store.delete_user_data("u1")
    assert not (await raw.document("userDays/2024-05-01|u1").get()).exists
    assert not (await raw.document("users/u1/usage/2024-05-01").get()).exists


async def test_documents_written_before_the_dashboard_still_read(
    firestore_store: FirestoreStore, raw: AsyncClient
) -> None:
    # A user without `blocked`, a turn without `tool_calls`, a usage day without a
    # `userDays` twin: as the previous version wrote them.
    await raw.document("users/old").set(
        {"id": "old", "email": "old@example.com", "settings": {}, "createdAt": T0}
    )
    await raw.document("users/old/usage/2024-05-01").set({"date": "2024-05-01", "seconds": 9.0})
    await firestore_store.start_conversation("c1", "old", T0, None)
    ended = T0 + dt.timedelta(seconds=1)
    await raw.document("conversations/c1/turns/000000").set(
        {"index": 0, "started_at": T0, "ended_at": ended, "turn_latency_ms": 5.0}
    )
    user = await firestore_store.get_user("old")
    assert user is not None and not user.blocked
    assert [u.id for u in await firestore_store.find_users("OLD@")] == ["old"]
    turns = await firestore_store.get_turns("c1")
    assert [(t.index, t.tool_calls, t.user_text, t.ended_at) for t in turns] == [(0, [], "", ended)]
    # One user's days come from their own documents, so the old day is there.
    days = await firestore_store.list_user_days("2024-05-01", "2024-05-01", user_id="old")
    assert [(d.user_id, d.seconds) for d in days] == [("old", 9.0)]
    await firestore_store.reset_usage("old", "2024-05-01")
    assert await firestore_store.get_usage("old", "2024-05-01") == 0.0


async def test_text_search_reads_a_bounded_number_of_conversations(
    firestore_store: FirestoreStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_firestore_admin, "SCAN_CONVERSATIONS", 4)
    monkeypatch.setattr(_firestore_admin, "_SCAN_PAGE", 2)
    for n in range(6):
        await firestore_store.start_conversation(f"c{n}", "u1", T0 + dt.timedelta(minutes=n), None)
        said = "needle" if n in (0, 4) else "hay"
        turn = TurnRecord(index=0, user_text=said, started_at=T0, ended_at=T0, turn_latency_ms=1)
        assert await firestore_store.append_turn(f"c{n}", turn)
    found = await firestore_store.search_conversations(text="needle")
    # c5..c2 read (the bound), c0 not: the caller pages on from the last one it was given.
    assert [c.id for c in found] == ["c4"]
    last = found[-1]
    more = await firestore_store.search_conversations(
        text="needle", before=last.timestamp, before_id=last.id
    )
    assert [c.id for c in more] == ["c0"]


async def test_a_transcript_past_a_documents_1_mib_is_stored_and_read_whole(
    firestore_store: FirestoreStore, firestore_emulator: FirestoreEmulator
) -> None:
    # Production refuses a write that takes a document past 1 MiB, so a transcript kept in
    # one document would lose every turn after that; the emulator has no such limit, so
    # the sizes are checked on its export.
    store = firestore_store
    await store.start_conversation("long", "u1", T0, None)
    turns = 40
    said = "é" * 8_000  # 16 000 UTF-8 bytes a side: 1.28 MB for the conversation
    for n in range(turns):
        at = T0 + dt.timedelta(seconds=10 * n)
        turn = TurnRecord(
            index=n,
            user_text=f"{n} {said}",
            model_text=f"{n} {said} needle-{n}",
            started_at=at,
            ended_at=at + dt.timedelta(seconds=5),
            turn_latency_ms=100.0,
        )
        assert await store.append_turn("long", turn)
    sizes = dict(document_sizes(await asyncio.to_thread(firestore_emulator.dump)))
    text_bytes = sum(len(f"{n} {said}".encode()) * 2 for n in range(turns))
    assert text_bytes > MAX_DOCUMENT_BYTES
    assert max(sizes.values()) < MAX_DOCUMENT_BYTES // 10
    assert sizes["conversations/long"] < 2_000
    conv = await store.get_conversation("long")
    assert conv is not None and conv.metrics.turns == turns
    assert [(m.turn_index, m.role) for m in conv.messages] == [
        (n, role) for n in range(turns) for role in ("user", "model")
    ]
    assert all(m.text.startswith(f"{m.turn_index} {said}") for m in conv.messages)
    got = await store.get_turns("long")
    assert [(t.index, t.user_text, t.model_text) for t in got] == [
        (n, f"{n} {said}", f"{n} {said} needle-{n}") for n in range(turns)
    ]
    found = await store.search_conversations(text="NEEDLE-39")
    assert [c.id for c in found] == ["long"]
    assert await store.delete_conversation("long")
    assert await store.get_turns("long") == []


async def test_a_conversation_stored_with_its_lines_in_the_document_still_reads(
    firestore_store: FirestoreStore, raw: AsyncClient
) -> None:
    # As earlier versions wrote it: the lines in `messages`, the turns without their
    # texts; then the conversation goes on after the upgrade.
    store = firestore_store
    await store.start_conversation("old", "u1", T0, None)
    ended = T0 + dt.timedelta(seconds=2)
    await raw.document("conversations/old").update(
        {
            "messages": [
                {"turn": 0, "role": "user", "text": "old question", "at": T0},
                {"turn": 0, "role": "model", "text": "old answer", "at": ended},
            ]
        }
    )
    await raw.document("conversations/old/turns/000000").set(
        {"index": 0, "started_at": T0, "ended_at": ended, "turn_latency_ms": 5.0}
    )
    later = T0 + dt.timedelta(seconds=10)
    new = TurnRecord(
        index=1,
        user_text="new question",
        model_text="new answer",
        started_at=later,
        ended_at=later + dt.timedelta(seconds=1),
        turn_latency_ms=5.0,
    )
    assert await store.append_turn("old", new)
    conv = await store.get_conversation("old")
    assert conv is not None
    assert [(m.turn_index, m.text) for m in conv.messages] == [
        (0, "old question"),
        (0, "old answer"),
        (1, "new question"),
        (1, "new answer"),
    ]
    turns = await store.get_turns("old")
    assert [(t.index, t.user_text, t.model_text) for t in turns] == [
        (0, "old question", "old answer"),
        (1, "new question", "new answer"),
    ]
    for text in ("OLD ANSWER", "new question"):
        assert [c.id for c in await store.search_conversations(text=text)] == ["old"]
    assert await store.search_conversations(text="absent") == []
    assert await store.delete_conversations_before(T0 + dt.timedelta(days=1)) == 1
    assert await store.get_conversation("old") is None
    assert not (await raw.document("conversations/old/turns/000001").get()).exists


async def test_a_query_without_its_index_in_the_file_fails_as_in_production(
    firestore_store: FirestoreStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The check every Firestore test runs under, here with an empty index file.
    missing = enforce_indexes(monkeypatch, indexes=[])
    with pytest.raises(StoreError, match="requires an index"):
        await firestore_store.list_conversations(user_id="u1")
    assert missing == ["conversations (COLLECTION): userId ASCENDING, sortKey DESCENDING"]
    # Single-field queries are served without one.
    assert await firestore_store.list_conversations() == []
    assert await firestore_store.list_daily("2024-05-01", "2024-05-03") != []
    assert len(missing) == 1
