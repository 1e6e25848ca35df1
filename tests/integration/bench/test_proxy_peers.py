"""`python -m bench.proxy` as run for the scale figures: both Live peers serve both phases,
every chunk comes back through the backend. Counts are checked, never times."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
RUN_TIMEOUT_S = 180


@pytest.mark.parametrize("peer", ["light", "emulator"])
def test_every_chunk_is_echoed_directly_and_through_the_backend(peer: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.proxy", "--sessions", "4", "--seconds", "1.5"]
        + ["--warmup", "0.5", "--peer", peer, "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=True,
    )
    result = json.loads(done.stdout)
    assert result["peer"] == peer
    assert result["errors"] == 0, result["error_details"]
    assert result["dropped_chunks"] == 0
    for phase in ("direct", "proxied"):
        assert result["chunks_sent"][phase] == 4 * 75
        assert result["chunks_received"][phase] == result["chunks_sent"][phase]
    assert result["backend_cpu_us_per_chunk"] > 0
