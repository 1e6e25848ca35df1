"""Resumption state knows its owner: only the owner finds it, and it expires."""

from __future__ import annotations

from liveavatar.auth.tokens import Identity
from liveavatar.bridge.handles import HandleDirectory, Lookup, Resumable
from liveavatar.bridge.ids import is_session_id, log_ref, new_session_id, owner_key


def test_only_the_owner_resumes() -> None:
    d = HandleDirectory(ttl_s=100)
    d.claim("s-1", "alice", now=0)
    assert d.lookup("s-1", "alice", now=1) == Resumable(None)
    d.put("s-1", "h1", now=2)
    assert d.lookup("s-1", "alice", now=3) == Resumable("h1")
    assert d.lookup("s-1", "bob", now=3) is Lookup.FOREIGN
    assert d.lookup("s-2", "alice", now=3) is Lookup.UNKNOWN
    assert d.lookup("s-1", "alice", now=200) is Lookup.UNKNOWN  # expired


def test_handles_of_unclaimed_sessions_are_ignored_and_a_new_owner_starts_clean() -> None:
    d = HandleDirectory()
    d.put("s-1", "h1", now=0)
    assert d.lookup("s-1", "anyone", now=0) is Lookup.UNKNOWN
    d.claim("s-1", "alice", now=0)
    d.put("s-1", "h1", now=0)
    d.claim("s-1", "alice", now=1)  # resumed by its owner: the handle is kept
    assert d.lookup("s-1", "alice", now=1) == Resumable("h1")
    d.claim("s-1", "bob", now=2)
    assert d.lookup("s-1", "bob", now=2) == Resumable(None)


def test_the_directory_is_bounded() -> None:
    d = HandleDirectory(max_entries=2)
    for i in range(3):
        d.claim(f"s-{i}", "u", now=0)
    assert d.lookup("s-0", "u", now=0) is Lookup.UNKNOWN
    assert d.lookup("s-2", "u", now=0) == Resumable(None)


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
