"""`python -m bench.proxy` as run for the scale figures: both Live peers serve both phases,
every chunk comes back through the backend. Counts are checked, never times."""

from __future__ import annotations

import pytest

from tests.support.bench_cli import run_bench

pytestmark = pytest.mark.slow

RUN_TIMEOUT_S = 180


@pytest.mark.parametrize("peer", ["light", "emulator"])
def test_every_chunk_is_echoed_directly_and_through_the_backend(peer: str) -> None:
    result = run_bench(
        "proxy",
        *("--sessions", "4", "--seconds", "1.5", "--warmup", "0.5", "--peer", peer, "--json"),
        timeout_s=RUN_TIMEOUT_S,
    )
    assert result["peer"] == peer
    assert result["errors"] == 0, result["error_details"]
    assert result["dropped_chunks"] == 0
    for phase in ("direct", "proxied"):
        assert result["chunks_sent"][phase] == 4 * 75
        assert result["chunks_received"][phase] == result["chunks_sent"][phase]
    assert result["backend_cpu_us_per_chunk"] > 0
