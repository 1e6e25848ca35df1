"""Stand-ins for the `gcloud`, `firebase` and `gsutil` commands, put first on PATH.

Each call is appended to a log as a JSON list (the command's name, then its arguments).
Files a real command would upload (a Cloud Run service file, the staged Firebase site) are
copied to a folder, since the deploy script deletes its staging folder on exit. The
environment shapes the answers:

- FAKE_EXISTS=1: every describe succeeds and every list names one resource (a re-run);
  otherwise describes fail and lists are empty (an empty project).
- FAKE_FAIL=<text>: a call whose command line contains <text> fails with exit 3.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

PROJECT_NUMBER = "123456789012"
FOUND = "projects/demo/things/42"
FAIL_EXIT = 3
NAMES = ("gcloud", "firebase", "gsutil")

_SCRIPT = """#!{python} -S
import json, os, shutil, sys
name = os.path.basename(sys.argv[0])
args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps([name, *args]) + "\\n")
line = " ".join([name, *args])
fail = os.environ.get("FAKE_FAIL")
if fail and fail in line:
    print(f"ERROR: (fake {{name}}) {{fail}} was refused", file=sys.stderr)
    sys.exit({fail_exit})
kept = os.environ["FAKE_KEPT"]
if args[:3] == ["run", "services", "replace"]:
    shutil.copy(args[3], os.path.join(kept, os.path.basename(args[3])))
if name == "firebase" and "--config" in args:
    site = os.path.dirname(args[args.index("--config") + 1])
    shutil.copytree(site, os.path.join(kept, "site"), dirs_exist_ok=True)
exists = os.environ.get("FAKE_EXISTS") == "1"
if args[:2] == ["projects", "describe"]:
    print("{number}")
elif "describe" in args:
    sys.exit(0 if exists else 1)
elif "list" in args or "list-configs" in args:
    print("{found}" if exists else "")
"""


@dataclass(frozen=True)
class FakeCloud:
    """The folder holding the fakes, their call log and the files they kept."""

    bin_dir: Path
    log: Path
    kept: Path

    def env(self, **extra: str) -> dict[str, str]:
        """An environment with the fakes first on PATH."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("FAKE_")}
        env["PATH"] = f"{self.bin_dir}{os.pathsep}{env.get('PATH', '')}"
        env["FAKE_LOG"] = str(self.log)
        env["FAKE_KEPT"] = str(self.kept)
        env.update(extra)
        return env

    def calls(self) -> list[list[str]]:
        """Every recorded call, in order."""
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]


def install(root: Path) -> FakeCloud:
    """Write the fakes under `root`."""
    bin_dir = root / "bin"
    kept = root / "kept"
    bin_dir.mkdir()
    kept.mkdir()
    # -S: no site-packages scan, so each of the ~50 calls of a deploy starts in a few ms.
    body = _SCRIPT.format(
        python=sys.executable, fail_exit=FAIL_EXIT, number=PROJECT_NUMBER, found=FOUND
    )
    for name in NAMES:
        path = bin_dir / name
        path.write_text(body)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return FakeCloud(bin_dir=bin_dir, log=root / "calls.jsonl", kept=kept)
