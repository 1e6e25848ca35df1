from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from liveavatar.dashboard.recordings import (
    delete_recordings,
    list_recordings,
    part_start,
    recording_prefix,
)
from liveavatar.media import InvalidMediaName, LocalMediaStore


@pytest.fixture
def media(tmp_path: Path) -> LocalMediaStore:
    return LocalMediaStore(tmp_path / "media", secret=b"s" * 32, base_url="http://127.0.0.1:1")


def test_part_names_say_when_the_session_started() -> None:
    at = dt.datetime(2026, 3, 1, 9, 0, 0, 250000, tzinfo=dt.UTC)
    micros = (at - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)
    assert part_start(f"recordings/c1/{micros}.ogg") == at
    assert part_start("recordings/c1/notes.ogg") is None
    assert part_start("recordings/c1/123.wav") is None
    assert part_start("idle/123.ogg") is None


def test_prefix_refuses_ids_that_escape_the_folder() -> None:
    assert recording_prefix("c-1") == "recordings/c-1/"
    for bad in ("", "a/b", "..", ".hidden"):
        with pytest.raises(InvalidMediaName):
            recording_prefix(bad)


async def test_list_and_delete_only_that_conversations_files(media: LocalMediaStore) -> None:
    for name in (
        "recordings/c1/2000000.ogg",
        "recordings/c1/1000000.ogg",
        "recordings/c10/1000000.ogg",
        "idle/a.mp4",
    ):
        await media.put(name, b"OggS", "audio/ogg")
    found = await list_recordings(media, "c1")
    assert [r.name for r in found] == ["recordings/c1/1000000.ogg", "recordings/c1/2000000.ogg"]
    assert found[0].started_at == dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=dt.UTC)
    assert await delete_recordings(media, ["c1", "nothing-here"]) == 2
    assert await list_recordings(media, "c1") == []
    assert [o.name for o in await media.list("")] == ["idle/a.mp4", "recordings/c10/1000000.ogg"]
