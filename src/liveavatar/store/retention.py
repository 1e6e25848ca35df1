"""Retention: conversations older than the configured number of days are deleted."""

from __future__ import annotations

import datetime as dt

from liveavatar.store._common import utc
from liveavatar.store.base import Store


def retention_cutoff(retention_days: int, now: dt.datetime) -> dt.datetime:
    """The instant before which conversations are expired."""
    if retention_days < 1:
        # 0 would delete the conversation running right now; refuse rather than guess.
        raise ValueError("retention_days must be at least 1")
    return utc(now) - dt.timedelta(days=retention_days)


async def purge_expired(store: Store, retention_days: int, now: dt.datetime) -> int:
    """Delete conversations that started more than `retention_days` before `now`.

    Their turns and messages go with them. Daily metrics are aggregates without personal
    content and are kept. Returns how many conversations were deleted.
    """
    return await store.delete_conversations_before(retention_cutoff(retention_days, now))
