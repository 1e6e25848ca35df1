"""The audio/video offset over a period: what the dashboard's Overview shows beside the
latency percentiles.

The page measures, for each answer it plays, how far the avatar's mouth trails (or leads)
the voice as heard (frontend/js/avsync.js; positive = audio ahead of the mouth) and
reports it with what was heard (`played`); the store keeps it on the turn
(`Store.record_playback`). Over a period, the Overview shows the nearest-rank p50 and p95
of those signed offsets, over the turns ending in the period that have one (answers played
by the native avatar, or never reported, have none).
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from liveavatar.store._common import percentile
from liveavatar.store.models import usable_av_offset


class AvOffset(BaseModel):
    """The p50 and p95 (nearest rank, exact) of the stored per-answer A/V offsets, ms;
    `None` when no answer of the period has one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    answers: int = Field(default=0, ge=0)
    p50_ms: float | None = None
    p95_ms: float | None = None


def av_offset(offsets: Iterable[object]) -> AvOffset:
    """What both backends' `Store.av_offset` return once they have the stored offsets, as
    stored: one that is not a usable offset (`models.usable_av_offset`) is not counted."""
    values = [v for v in map(usable_av_offset, offsets) if v is not None]
    return AvOffset(
        answers=len(values),
        p50_ms=percentile(values, 50),
        p95_ms=percentile(values, 95),
    )
