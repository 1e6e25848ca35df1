"""A short soak (`python -m bench.soak`) as `make test` runs it: one conversation across
Live rotations and injected drops loses no turn. Its counters are checked, never its times."""

from __future__ import annotations

import pytest

from tests.support.bench_cli import run_bench

pytestmark = pytest.mark.slow

MINUTES = 0.3
# Connections live 6 s (goAway 2 s before the end), and one still streaming an answer 4 s
# after its setup drops with 1011: an 18-second conversation meets both more than once.
EMULATOR = ["--lifetime", "6", "--goaway-notice", "2", "--drop-after", "4"]
RUN_TIMEOUT_S = 180


def test_a_short_soak_loses_no_turn_across_rotations_and_drops() -> None:
    result = run_bench(
        "soak", "--minutes", str(MINUTES), *EMULATOR, "--json", timeout_s=RUN_TIMEOUT_S
    )
    assert result["errors"] == []
    assert result["rotations"] >= 1
    assert result["reconnects"] >= 1
    assert result["questions"] >= 3
    assert result["lost_turns"] == 0
    assert result["duplicated_turns"] == 0
    assert result["stored_turns"] == result["questions"] == result["turns_completed"]
    assert result["rss_mb_start"] > 0 and result["rss_mb_end"] > 0
