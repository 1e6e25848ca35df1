"""Resumption entries: the behaviour every `Store` backend must have (SQLite and Firestore)."""

from __future__ import annotations

import datetime as dt

from liveavatar.store import ResumeState, Store

T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
LATER = T0 + dt.timedelta(hours=2)


def entry(session_id: str = "s-1", holder: str = "a", **kw: object) -> ResumeState:
    fields: dict[str, object] = {
        "session_id": session_id,
        "owner_digest": "d" * 64,
        "holder": holder,
        "expires_at": LATER,
    }
    fields.update(kw)
    return ResumeState.model_validate(fields)


async def test_a_claimed_entry_reads_back_until_it_expires(store: Store) -> None:
    assert await store.get_resumption("s-1", T0) is None
    await store.claim_resumption(entry())
    assert await store.get_resumption("s-1", T0) == entry()
    assert await store.get_resumption("s-1", LATER) is None, "expired at its expiry"


async def test_the_holder_stores_each_newer_handle_and_pushes_the_expiry(store: Store) -> None:
    await store.claim_resumption(entry())
    assert await store.put_resumption_handle("s-1", "a", "h1", LATER)
    pushed = LATER + dt.timedelta(minutes=5)
    assert await store.put_resumption_handle("s-1", "a", "h2", pushed)
    assert await store.get_resumption("s-1", LATER) == entry(handle="h2", expires_at=pushed)


async def test_after_a_take_over_the_old_holder_writes_nothing(store: Store) -> None:
    await store.claim_resumption(entry())
    assert await store.put_resumption_handle("s-1", "a", "h1", LATER)
    # Another connection (maybe on another instance) resumes with the handle it read.
    await store.claim_resumption(entry(holder="b", handle="h1"))
    assert not await store.put_resumption_handle("s-1", "a", "h-old", LATER)
    assert await store.get_resumption("s-1", T0) == entry(holder="b", handle="h1")
    assert await store.put_resumption_handle("s-1", "b", "h2", LATER)


async def test_a_handle_for_an_unknown_session_is_not_stored(store: Store) -> None:
    assert not await store.put_resumption_handle("s-none", "a", "h1", LATER)
    assert await store.get_resumption("s-none", T0) is None


async def test_purge_deletes_only_expired_entries(store: Store) -> None:
    await store.claim_resumption(entry("s-old", expires_at=T0))
    await store.claim_resumption(entry("s-new"))
    assert await store.purge_resumptions(T0 + dt.timedelta(seconds=1)) == 1
    assert await store.purge_resumptions(T0 + dt.timedelta(seconds=1)) == 0
    assert await store.get_resumption("s-new", T0) == entry("s-new")
    assert await store.get_resumption("s-old", T0 - dt.timedelta(hours=1)) is None
