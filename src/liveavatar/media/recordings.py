"""Where conversation recordings live in the media store, and how to find and delete them.

One Ogg Opus file per session part: `recordings/<conversation id>/<part>.ogg`, the part
being the session's start in microseconds since the epoch (the part id its conversation end
carries in the store). A resumed conversation adds a part. Names carry the conversation
id, which resumes a conversation: never log them (log the conversation's `log_ref`).
See docs/RECORDINGS.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .base import MediaObject, MediaStore, validate_name

RECORDINGS_PREFIX = "recordings/"
RECORDING_CONTENT_TYPE = "audio/ogg"
# Enough for every recording a deployment keeps; a listing that hits it is logged by the
# caller and the rest is handled on the next run.
MAX_LISTED = 100_000

_PART_RE = re.compile(r"[0-9]{1,20}")
_NAME_RE = re.compile(r"recordings/([A-Za-z0-9][A-Za-z0-9._-]*)/([0-9]{1,20})\.ogg")


@dataclass(frozen=True)
class RecordingName:
    """A recording's object name, split."""

    conversation_id: str
    part: str

    @property
    def name(self) -> str:
        return recording_name(self.conversation_id, self.part)


def recording_name(conversation_id: str, part: str) -> str:
    """`recordings/<conversation_id>/<part>.ogg`; raises `InvalidMediaName` (a ValueError)
    for an id that cannot be a name segment, ValueError for a part that is not digits."""
    if not _PART_RE.fullmatch(part):
        raise ValueError("a recording part is the session start in microseconds")
    name = f"{RECORDINGS_PREFIX}{conversation_id}/{part}.ogg"
    validate_name(name)
    if "/" in conversation_id:
        raise ValueError("a conversation id is one name segment")
    return name


def parse_recording_name(name: str) -> RecordingName | None:
    """The conversation and part of a recording's name, or None for any other name."""
    match = _NAME_RE.fullmatch(name)
    return RecordingName(match[1], match[2]) if match else None


async def recordings_of(media: MediaStore, conversation_id: str) -> list[MediaObject]:
    """A conversation's recordings, oldest part first."""
    prefix = f"{RECORDINGS_PREFIX}{conversation_id}/"
    found = [
        obj
        for obj in await media.list(prefix, limit=MAX_LISTED)
        if (parsed := parse_recording_name(obj.name)) is not None
        and parsed.conversation_id == conversation_id
    ]
    # Parts are microsecond timestamps of the same width for centuries; sort as numbers.
    return sorted(found, key=lambda obj: int(obj.name.rsplit("/", 1)[1].removesuffix(".ogg")))


async def delete_recordings(media: MediaStore, conversation_id: str) -> int:
    """Delete every recording of a conversation (its deletion, a privacy request);
    returns how many there were."""
    found = await recordings_of(media, conversation_id)
    for obj in found:
        await media.delete(obj.name)
    return len(found)
