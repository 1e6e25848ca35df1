"""A conversation's recordings as the dashboard plays and deletes them.

Names and listing are the media package's (`media/recordings.py`): one Ogg Opus file per
session of a conversation, `recordings/<conversation id>/<part>.ogg`, `<part>` being the
session's start in microseconds since the epoch (stereo: left the user, right the model).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from liveavatar.media.base import (
    InvalidMediaName,
    MediaStore,
    MediaUnavailable,
    validate_prefix,
)
from liveavatar.media.recordings import RECORDINGS_PREFIX, parse_recording_name, recordings_of

# A recording is read whole into the page (a data: URL): Opus at ~32 kb/s stereo makes
# this about an hour, longer than any session the Live connection allows.
MAX_RECORDING_BYTES = 16 * 1024 * 1024
_LIST_LIMIT = 200
_MAX_ROUNDS = 50


@dataclass(frozen=True)
class Recording:
    """One session's recording: its media name, size, and when the session started."""

    name: str
    size: int
    started_at: dt.datetime | None


def recording_prefix(conversation_id: str) -> str:
    """`recordings/<id>/`; raises `InvalidMediaName` for an id that cannot be a segment."""
    if "/" in conversation_id or not conversation_id:
        raise InvalidMediaName(f"invalid conversation id: {conversation_id[:80]!r}")
    return validate_prefix(f"{RECORDINGS_PREFIX}{conversation_id}/")


def part_start(name: str) -> dt.datetime | None:
    """The session start a recording's name encodes, or None for another name."""
    parsed = parse_recording_name(name)
    if parsed is None:
        return None
    try:
        return dt.datetime.fromtimestamp(int(parsed.part) / 1_000_000, dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None


async def list_recordings(media: MediaStore, conversation_id: str) -> list[Recording]:
    """The conversation's recordings, oldest session first."""
    recording_prefix(conversation_id)
    return [
        Recording(o.name, o.size, part_start(o.name))
        for o in await recordings_of(media, conversation_id)
    ]


async def delete_recordings(media: MediaStore, conversation_ids: Iterable[str]) -> int:
    """Delete every object under each conversation's recording folder (its parts and
    anything a writer left beside them); how many went.

    Lists again until a folder is empty; a folder that does not empty raises
    `MediaUnavailable` rather than looping forever."""
    deleted = 0
    for conversation_id in conversation_ids:
        prefix = recording_prefix(conversation_id)
        for _ in range(_MAX_ROUNDS):
            objects = await media.list(prefix, limit=_LIST_LIMIT)
            if not objects:
                break
            for obj in objects:
                await media.delete(obj.name)
            deleted += len(objects)
        else:
            raise MediaUnavailable("a conversation's recordings could not all be deleted")
    return deleted
