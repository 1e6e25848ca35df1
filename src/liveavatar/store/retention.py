"""Retention: conversations older than the configured number of days are deleted, and
recordings with them (and sooner when the persona keeps recordings for fewer days)."""

from __future__ import annotations

import datetime as dt
import logging

from liveavatar.media import MediaStore
from liveavatar.media.recordings import MAX_LISTED, RECORDINGS_PREFIX, parse_recording_name
from liveavatar.store._common import utc
from liveavatar.store.base import Store

logger = logging.getLogger(__name__)

# A recording whose conversation is not in the store is an orphan only once it is this
# old: a session's recording can be written while its conversation's start is still
# being stored.
ORPHAN_GRACE = dt.timedelta(hours=1)


def retention_cutoff(retention_days: int, now: dt.datetime) -> dt.datetime:
    """The instant before which conversations are expired."""
    if retention_days < 1:
        # 0 would delete the conversation running right now; refuse rather than guess.
        raise ValueError("retention_days must be at least 1")
    return utc(now) - dt.timedelta(days=retention_days)


async def purge_expired(
    store: Store, retention_days: int, now: dt.datetime, *, media: MediaStore | None = None
) -> int:
    """Delete conversations that started more than `retention_days` before `now`.

    Their turns and messages go with them. Daily metrics are aggregates without personal
    content and are kept. With `media`, recordings go too (`purge_recordings`). Returns
    how many conversations were deleted.
    """
    deleted = await store.delete_conversations_before(retention_cutoff(retention_days, now))
    if media is not None:
        await purge_recordings(store, media, now)
    return deleted


async def purge_recordings(store: Store, media: MediaStore, now: dt.datetime) -> int:
    """Delete the recordings nobody may keep any more; returns how many.

    Those of conversations that are gone (deleted by retention, by an admin or a privacy
    request whose caller missed them: orphans, once `ORPHAN_GRACE` old), and, when the
    active persona sets `recording_retention_days`, those last written before that many
    days ago (the media object's `updated` time).
    """
    now = utc(now)
    persona = await store.get_persona()
    days = persona.recording_retention_days if persona is not None else None
    expired_before = now - dt.timedelta(days=days) if days else None
    listed = await media.list(RECORDINGS_PREFIX, limit=MAX_LISTED)
    if len(listed) >= MAX_LISTED:
        logger.warning("more recordings than one pass lists; the rest go on the next run")
    known: dict[str, bool] = {}
    deleted = 0
    for obj in listed:
        parsed = parse_recording_name(obj.name)
        if parsed is None:
            continue
        expired = expired_before is not None and obj.updated < expired_before
        if not expired and now - obj.updated >= ORPHAN_GRACE:
            cid = parsed.conversation_id
            if cid not in known:
                known[cid] = await store.get_conversation(cid) is not None
            expired = not known[cid]
        if expired:
            await media.delete(obj.name)
            deleted += 1
    logger.info(
        "recordings retention applied",
        extra={"deleted": deleted, "recording_retention_days": days},
    )
    return deleted
