"""`python -m bench.turn_detection` on a few utterances, as `make test` runs it: both modes
scored on the same speech. Its figures are checked for shape and sense, never for speed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
RUN_TIMEOUT_S = 300


def test_both_modes_are_scored_on_the_same_utterances() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.turn_detection", "--complete", "3", "--paused", "2"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=True,
    )
    result = json.loads(done.stdout)
    assert (result["utterances"], result["with_pause"]) == (5, 2)
    for mode in ("server", "smart"):
        scored = result[mode]
        assert scored["utterances"] == 5
        for rate in ("premature_end_rate", "premature_in_pause_rate", "missed_end_rate"):
            assert 0.0 <= scored[rate] <= 1.0
        delay = scored["end_delay_ms"]
        if delay["n"]:
            assert 0 <= delay["p50"] <= delay["p95"]
    # Live's emulated detector ends each paused utterance in its pause (300 ms < 400 ms).
    assert result["server"]["premature_in_pause_rate"] == 1.0
    assert result["smart"]["cpu_ms_per_audio_s"] > 0
    assert result["smart"]["judgements"] >= 1
    assert result["model_ms"]["p50"] > 0
