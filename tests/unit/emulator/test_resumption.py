"""Resumption handles: snapshots between turns, expiry, unknown handles."""

from __future__ import annotations

from liveavatar.emulator.resumption import Conversation, ResumptionStore, Turn


def test_handle_restores_a_snapshot_until_it_expires() -> None:
    now = [0.0]
    store = ResumptionStore(ttl_s=10, clock=lambda: now[0])
    conv = Conversation("m", "You are Ava.", [Turn("user", "hi")])
    handle = store.issue(conv)
    conv.history.append(Turn("model", "later turn"))  # not part of the snapshot
    restored = store.restore(handle)
    assert restored is not None and [t.text for t in restored.history] == ["hi"]
    now[0] = 11
    assert store.restore(handle) is None


def test_unknown_handle_and_bounded_size() -> None:
    store = ResumptionStore(max_entries=2)
    handles = [store.issue(Conversation("m")) for _ in range(3)]
    assert store.restore("nope") is None
    assert store.restore(handles[0]) is None  # evicted, oldest first
    assert store.restore(handles[2]) is not None
