"""A day's totals: averages derived from the stored sums, dates in one spelling."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from liveavatar.store import DailyMetrics


def test_a_days_averages_are_derived_from_its_sums() -> None:
    day = DailyMetrics(date="2024-05-01", duration_s_sum=90.0, ended_sessions=3)
    assert day.avg_duration_s == 30.0 and day.avg_latency_ms == 0.0
    with pytest.raises(ValidationError):
        DailyMetrics(date="1 May")
