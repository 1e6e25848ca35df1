"""Run a benchmark as a user runs it (`python -m bench.<name> …` from the repository's
root) and read the one JSON object it prints."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def run_bench(name: str, *args: str, timeout_s: float) -> dict[str, Any]:
    """`python -m bench.<name> <args>`'s JSON output. A non-zero exit fails the caller
    (`CalledProcessError`, with the benchmark's output), as does a run past `timeout_s`."""
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result
