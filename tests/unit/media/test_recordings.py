"""Recording names: built, parsed, listed per conversation and deleted with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from liveavatar.media import InvalidMediaName, LocalMediaStore
from liveavatar.media.recordings import (
    RecordingName,
    delete_recordings,
    parse_recording_name,
    recording_name,
    recordings_of,
)

SECRET = b"0123456789abcdef0123456789abcdef"
CONVERSATION = "s-AbCdEfGhIjKlMnOpQrSt_-"


def test_names_round_trip() -> None:
    name = recording_name(CONVERSATION, "1767225600000000")
    assert name == f"recordings/{CONVERSATION}/1767225600000000.ogg"
    assert parse_recording_name(name) == RecordingName(CONVERSATION, "1767225600000000")
    assert RecordingName(CONVERSATION, "7").name == f"recordings/{CONVERSATION}/7.ogg"


@pytest.mark.parametrize(
    "name",
    [
        "recordings/c/x.ogg",
        "recordings/c/1.wav",
        "idle/c/1.ogg",
        "recordings/1.ogg",
        "recordings/a/b/1.ogg",
    ],
)
def test_other_names_are_not_recordings(name: str) -> None:
    assert parse_recording_name(name) is None


def test_bad_ids_and_parts_are_refused() -> None:
    with pytest.raises(InvalidMediaName):
        recording_name("../x", "1")
    with pytest.raises(ValueError):
        recording_name("a/b", "1")
    with pytest.raises(ValueError):
        recording_name(CONVERSATION, "1.5")


async def test_a_conversations_recordings_are_listed_in_order_and_deleted(tmp_path: Path) -> None:
    media = LocalMediaStore(tmp_path, secret=SECRET, base_url="http://x")
    for part in ("200", "1000", "30"):
        await media.put(recording_name(CONVERSATION, part), b"OggS", "audio/ogg")
    await media.put(recording_name("s-other", "5"), b"OggS", "audio/ogg")
    await media.put(f"recordings/{CONVERSATION}/notes.txt", b"x", "text/plain")
    found = await recordings_of(media, CONVERSATION)
    assert [o.name.rsplit("/", 1)[1] for o in found] == ["30.ogg", "200.ogg", "1000.ogg"]
    assert await delete_recordings(media, CONVERSATION) == 3
    assert await recordings_of(media, CONVERSATION) == []
    assert [o.name for o in await media.list("recordings/")] == [
        f"recordings/{CONVERSATION}/notes.txt",
        "recordings/s-other/5.ogg",
    ]
