"""The store's boundary types share one base: frozen, and lenient about unknown keys."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    # Unknown keys are ignored, not refused, so dumps (which include the derived averages)
    # load back and documents written by a newer version still read.
    model_config = ConfigDict(frozen=True)


def average(total: float, count: int) -> float:
    """`total / count`, 0 when nothing was counted (averages are derived, never stored)."""
    return total / count if count else 0.0
