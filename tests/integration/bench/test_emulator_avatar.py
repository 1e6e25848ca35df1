"""`python -m bench.emulator_avatar` in short, as `make test` runs it. Its figures are
checked for shape and sense, never for speed."""

from __future__ import annotations

from tests.support.bench_cli import run_bench

RUN_TIMEOUT_S = 300


def test_encoding_cost_and_first_media_are_reported() -> None:
    result = run_bench(
        "emulator_avatar", "--rounds", "1", "--turns", "2", "--json", timeout_s=RUN_TIMEOUT_S
    )
    assert result["video_s"] > 5
    assert result["encode_cpu_ms_per_video_s"] > 0
    assert 20 < result["kbit_per_s"] < 5000
    for mode in ("video", "audio"):
        first = result[f"first_media_ms_{mode}"]
        assert first["n"] == 2
        assert 0 < first["p50"] <= first["p95"]
