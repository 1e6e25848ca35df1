"""Resumption state in the store knows its owner: only the owner finds it, it expires,
handles are latest-wins, and a take-over elsewhere ends the older connection."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from liveavatar.auth.tokens import Identity
from liveavatar.bridge.handles import (
    HANDLE_TTL,
    HandleDirectory,
    Lookup,
    Resumable,
    owner_digest,
)
from liveavatar.bridge.ids import is_session_id, log_ref, new_session_id, owner_key
from liveavatar.store import ResumeState, SQLiteStore, StoreUnavailable


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    opened = SQLiteStore(tmp_path / "data.db")
    yield opened
    await opened.close()


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


async def test_only_the_owner_resumes_and_entries_expire(store: SQLiteStore) -> None:
    clock = Clock()
    d = HandleDirectory(store, clock=clock)
    sync = await d.claim("s-1", "alice", None)
    assert await d.lookup("s-1", "alice") == Resumable(None)
    sync.put("h1")
    await sync.flush()
    assert await d.lookup("s-1", "alice") == Resumable("h1")
    assert await d.lookup("s-1", "bob") is Lookup.FOREIGN
    assert await d.lookup("s-2", "alice") is Lookup.UNKNOWN
    clock.now += HANDLE_TTL
    assert await d.lookup("s-1", "alice") is Lookup.UNKNOWN  # expired


async def test_the_store_keeps_a_digest_of_the_owner_never_the_key(store: SQLiteStore) -> None:
    await HandleDirectory(store).claim("s-1", "local-abc/secretbrowserkey", None)
    entry = await store.get_resumption("s-1", dt.datetime.now(dt.UTC))
    assert entry is not None and "secretbrowserkey" not in entry.model_dump_json()
    assert entry.owner_digest == owner_digest("local-abc/secretbrowserkey")


async def test_handles_are_latest_wins_and_never_wait(store: SQLiteStore) -> None:
    sync = await HandleDirectory(store).claim("s-1", "alice", None)
    for i in range(100):
        sync.put(f"h{i}")  # no await: the audio path never waits on the store
    await sync.flush()
    assert await HandleDirectory(store).lookup("s-1", "alice") == Resumable("h99")


async def test_a_take_over_elsewhere_ends_the_older_holder(store: SQLiteStore) -> None:
    # Two instances sharing one store; a page resumed on the second while the first
    # still serves the session.
    first, second = HandleDirectory(store), HandleDirectory(store, check_every_s=0.01)
    older = await second.claim("s-1", "alice", None)
    older.put("h1")
    await older.flush()
    found = await first.lookup("s-1", "alice")
    assert found == Resumable("h1")
    newer = await first.claim("s-1", "alice", "h1")
    # Noticed without any handle write (the periodic check) ...
    async with asyncio.timeout(10):
        await older.run()
    # ... and a late write from the older one changes nothing.
    older.put("h-late")
    await older.flush()
    assert await first.lookup("s-1", "alice") == Resumable("h1")
    newer.put("h2")
    await newer.flush()
    assert await second.lookup("s-1", "alice") == Resumable("h2")


class FlakyStore(SQLiteStore):
    """A real store whose resumption writes fail while `down`."""

    down = True

    async def claim_resumption(self, state: ResumeState) -> None:
        if self.down:
            raise StoreUnavailable("down")
        await super().claim_resumption(state)


async def test_a_claim_that_failed_is_written_at_the_next_handle(tmp_path: Path) -> None:
    store = FlakyStore(tmp_path / "data.db")
    try:
        d = HandleDirectory(store)
        sync = await d.claim("s-1", "alice", None)  # the session runs without resumability
        sync.put("h1")
        await sync.flush()
        assert await d.lookup("s-1", "alice") is Lookup.UNKNOWN
        store.down = False
        sync.put("h2")
        await sync.flush()
        assert await d.lookup("s-1", "alice") == Resumable("h2")
    finally:
        await store.close()


async def test_an_unreadable_store_means_a_fresh_session(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "data.db")
    await store.close()  # every call now raises StoreUnavailable
    assert await HandleDirectory(store).lookup("s-1", "alice") is Lookup.UNKNOWN


def test_session_ids_are_random_and_logged_only_as_a_digest() -> None:
    ids = {new_session_id() for _ in range(1000)}
    assert len(ids) == 1000 and all(is_session_id(i) for i in ids)
    sid = next(iter(ids))
    assert sid not in log_ref(sid) and log_ref(sid) == log_ref(sid)
    assert not is_session_id("s-short") and not is_session_id(sid + "x")


def test_owner_keys() -> None:
    signed_in = Identity(uid="alice", email="a@example.com", anonymous=False)
    guest = Identity(uid="local-abc", email=None, anonymous=True)
    assert owner_key(signed_in, "k" * 32) == "alice"  # the account, from any device
    assert owner_key(guest, None) == "local-abc"
    assert owner_key(guest, "k" * 32) != owner_key(guest, "j" * 32)
    assert "k" * 32 not in owner_key(guest, "k" * 32)


class StallingStore(SQLiteStore):
    """A real store whose first handle write hangs until cancelled."""

    stalled = asyncio.Event()

    async def put_resumption_handle(
        self, session_id: str, holder: str, handle: str, expires_at: dt.datetime
    ) -> bool:
        if not self.stalled.is_set():
            self.stalled.set()
            await asyncio.Event().wait()
        return await super().put_resumption_handle(session_id, holder, handle, expires_at)


async def test_a_handle_whose_write_was_cut_by_the_session_s_end_is_flushed(
    tmp_path: Path,
) -> None:
    store = StallingStore(tmp_path / "data.db")
    store.stalled = asyncio.Event()
    try:
        d = HandleDirectory(store)
        sync = await d.claim("s-1", "alice", None)
        writer = asyncio.create_task(sync.run())
        sync.put("h1")
        await store.stalled.wait()
        writer.cancel()  # the session ends while the write is under way
        await asyncio.wait([writer])
        await sync.flush()
        assert await d.lookup("s-1", "alice") == Resumable("h1")
    finally:
        await store.close()
