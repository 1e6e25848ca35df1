"""bench.proxy_variants: the variant spec and the side-by-side summary."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.proxy_variants import Variant, parse_variant, summarize


def test_a_variant_names_its_client_server_and_source() -> None:
    assert parse_variant("a=raw") == Variant("a", "raw", None, "uvicorn")
    assert parse_variant("b=picows+granian") == Variant("b", "picows", None, "granian")
    v = parse_variant("c=raw@some/src")
    assert v.backend_src == str(Path("some/src").resolve())


@pytest.mark.parametrize("text", ["raw", "=raw", "a=fast", "a=raw+nginx"])
def test_a_malformed_variant_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="NAME=CLIENT"):
        parse_variant(text)


def _run(cpu: float, per_chunk: float, p95: float) -> dict[str, object]:
    return {
        "sessions": 10,
        "backend_cpu_percent": cpu,
        "backend_cpu_us_per_chunk": per_chunk,
        "added_ms": {"p50": 1.0, "p95": p95, "p99": 3.0},
        "dropped_chunks": 1,
        "errors": 0,
    }


def test_medians_and_ratios_are_per_round_against_the_first_variant() -> None:
    a, b = Variant("a", "raw", None), Variant("b", "picows", None)
    rounds = [
        {"a": _run(40, 200, 4), "b": _run(30, 100, 2)},
        {"a": _run(80, 400, 8), "b": _run(40, 300, 8)},
        {"a": _run(60, 300, 6), "b": _run(45, 150, 3)},
    ]
    out = summarize([a, b], rounds)
    assert out["a"]["backend_cpu_us_per_chunk_median"] == 300
    assert out["a"]["vs_first"]["cpu_per_chunk_ratio_median"] == 1.0
    # Ratios within each round (0.5, 0.75, 0.5), not the ratio of the medians (150/300).
    assert out["b"]["vs_first"]["cpu_per_chunk_ratio_median"] == 0.5
    assert out["b"]["vs_first"]["added_p95_ratio_median"] == 0.5
    assert out["b"]["backend_cpu_percent_per_session"] == 4.0
    assert out["b"]["dropped_chunks"] == 3
