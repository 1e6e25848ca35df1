"""`python -m bench.emulator_avatar` in short, as `make test` runs it. Its figures are
checked for shape and sense, never for speed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
RUN_TIMEOUT_S = 300


def test_encoding_cost_and_first_media_are_reported() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.emulator_avatar", "--rounds", "1", "--turns", "2", "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=True,
    )
    result = json.loads(done.stdout)
    assert result["video_s"] > 5
    assert result["encode_cpu_ms_per_video_s"] > 0
    assert 20 < result["kbit_per_s"] < 5000
    for mode in ("video", "audio"):
        first = result[f"first_media_ms_{mode}"]
        assert first["n"] == 2
        assert 0 < first["p50"] <= first["p95"]
