"""Retention with recordings: a real SQLite store and a local media folder."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from liveavatar.media import LocalMediaStore
from liveavatar.media.recordings import recording_name
from liveavatar.store import DB_FILENAME, PersonaConfig, SQLiteStore, purge_expired

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
SECRET = b"0123456789abcdef0123456789abcdef"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / DB_FILENAME)
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
def media(tmp_path: Path) -> LocalMediaStore:
    return LocalMediaStore(tmp_path / "media", secret=SECRET, base_url="http://x")


async def recorded(
    store: SQLiteStore, media: LocalMediaStore, cid: str, *, days_ago: float, stored: bool = True
) -> str:
    """A conversation (unless not `stored`) started and recorded `days_ago` days ago."""
    at = NOW - dt.timedelta(days=days_ago)
    if stored:
        await store.start_conversation(cid, "u1", at, None)
    name = recording_name(cid, str(int(at.timestamp() * 1_000_000)))
    await media.append(name, b"OggS", "audio/ogg")
    path = media.path_for(name)
    os.utime(path, (at.timestamp(), at.timestamp()))
    return name


async def names(media: LocalMediaStore) -> set[str]:
    return {o.name for o in await media.list("recordings/")}


async def test_recordings_go_with_their_expired_conversations_and_orphans(
    store: SQLiteStore, media: LocalMediaStore
) -> None:
    old = await recorded(store, media, "s-old", days_ago=100)
    kept = await recorded(store, media, "s-new", days_ago=1)
    orphan = await recorded(store, media, "s-gone", days_ago=2, stored=False)
    fresh = await recorded(store, media, "s-starting", days_ago=0.001, stored=False)
    assert await purge_expired(store, 90, NOW, media=media) == 1
    assert await names(media) == {kept, fresh}  # a just-started one is not an orphan yet
    assert old and orphan


async def test_the_persona_keeps_recordings_fewer_days_than_conversations(
    store: SQLiteStore, media: LocalMediaStore
) -> None:
    await store.put_persona(
        PersonaConfig(
            name="Ava",
            model="gemini-3.8-live",
            voice="Puck",
            recording=True,
            recording_retention_days=7,
        ),
        expected_version=None,
    )
    await recorded(store, media, "s-ten", days_ago=10)
    kept = await recorded(store, media, "s-three", days_ago=3)
    await media.put("recordings/readme.txt", b"not a recording", "text/plain")
    assert await purge_expired(store, 90, NOW, media=media) == 0
    assert await names(media) == {kept, "recordings/readme.txt"}
    assert await store.get_conversation("s-ten") is not None  # only its recording went


async def test_without_media_only_conversations_are_purged(
    store: SQLiteStore, media: LocalMediaStore
) -> None:
    name = await recorded(store, media, "s-old", days_ago=100)
    assert await purge_expired(store, 90, NOW) == 1
    assert await names(media) == {name}
