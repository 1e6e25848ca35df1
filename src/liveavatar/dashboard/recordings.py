"""A conversation's recordings in the media store: their names, and removing them.

The backend writes one Ogg Opus file per session of a conversation, named
`recordings/<conversation id>/<part>.ogg`, `<part>` being the session's start in
microseconds since the epoch (stereo: left the user, right the model).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from liveavatar.media.base import (
    InvalidMediaName,
    MediaObject,
    MediaStore,
    MediaUnavailable,
    validate_prefix,
)

RECORDINGS_PREFIX = "recordings/"
# A recording is read whole into the page (a data: URL): Opus at ~32 kb/s stereo makes
# this about an hour, longer than any session the Live connection allows.
MAX_RECORDING_BYTES = 16 * 1024 * 1024
_MAX_PARTS = 200
_MAX_ROUNDS = 50
_PART = re.compile(r"(\d{1,18})\.ogg")


@dataclass(frozen=True)
class Recording:
    """One session's recording: its media name, size, and when the session started
    (None when the name does not say)."""

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
    found = _PART.fullmatch(name.rsplit("/", 1)[-1])
    if found is None:
        return None
    try:
        return dt.datetime.fromtimestamp(int(found.group(1)) / 1_000_000, dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None


def recordings_of(objects: Iterable[MediaObject]) -> list[Recording]:
    """The Ogg objects among `objects`, oldest session first."""
    found = [
        Recording(o.name, o.size, part_start(o.name)) for o in objects if o.name.endswith(".ogg")
    ]
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    return sorted(found, key=lambda r: (r.started_at or epoch, r.name))


async def list_recordings(media: MediaStore, conversation_id: str) -> list[Recording]:
    """The conversation's recordings, oldest session first."""
    objects = await media.list(recording_prefix(conversation_id), limit=_MAX_PARTS)
    return recordings_of(objects)


async def delete_recordings(media: MediaStore, conversation_ids: Iterable[str]) -> int:
    """Delete every object under each conversation's recording folder; how many went.

    Lists again until a folder is empty, so a folder with more objects than one listing
    returns is still emptied; a folder that does not empty raises `MediaUnavailable`
    rather than looping forever."""
    deleted = 0
    for conversation_id in conversation_ids:
        prefix = recording_prefix(conversation_id)
        for _ in range(_MAX_ROUNDS):
            objects = await media.list(prefix, limit=_MAX_PARTS)
            if not objects:
                break
            for obj in objects:
                await media.delete(obj.name)
            deleted += len(objects)
        else:
            raise MediaUnavailable(f"recordings of {conversation_id[:80]!r} could not be deleted")
    return deleted
