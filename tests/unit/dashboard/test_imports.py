"""The dashboard reads and writes through the store and media interfaces only: loading it
must not load the backend app, the bridge or the Live client."""

from __future__ import annotations

import subprocess
import sys

FORBIDDEN = (
    "liveavatar.server",
    "liveavatar.bridge",
    "liveavatar.live.connection",
    "liveavatar.live.sdk_client",
    "liveavatar.live.sdk_events",
    "liveavatar.live.raw",
    "liveavatar.live.picows_client",
    "liveavatar.live.link",
)


def test_the_dashboard_never_imports_the_backend() -> None:
    probe = (
        "import sys, pkgutil, importlib, liveavatar.dashboard as d\n"
        "for m in pkgutil.walk_packages(d.__path__, 'liveavatar.dashboard.'):\n"
        "    if not m.name.endswith('.app'):\n"
        "        importlib.import_module(m.name)\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    loaded = done.stdout.split()
    assert "liveavatar.dashboard.main" in loaded
    leaks = [m for m in loaded if m.startswith(FORBIDDEN)]
    assert leaks == []
