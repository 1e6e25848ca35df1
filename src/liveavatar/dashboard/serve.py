"""Starting the dashboard: where it binds, the `streamlit run` command, its health check.

Where: on Cloud Run (`K_SERVICE` set) 0.0.0.0 and `$PORT`, as the platform requires; with
no ADMIN_TOKEN and no IAP, 127.0.0.1 only whatever DASHBOARD_HOST says, because the
dashboard is then open to whoever reaches it; otherwise DASHBOARD_HOST:DASHBOARD_PORT.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from liveavatar.dashboard.guard import guard_mode
from liveavatar.settings import Settings

APP_SCRIPT = Path(__file__).resolve().parent / "entry" / "app.py"
HEALTH_PATH = "/_stcore/health"
LOOPBACK = "127.0.0.1"


def dashboard_address(settings: Settings) -> tuple[str, int, str | None]:
    """(host, port, note): where the dashboard binds, and why when it is not as set."""
    if os.environ.get("K_SERVICE"):
        return "0.0.0.0", int(os.environ.get("PORT", "8080")), None  # noqa: S104
    if guard_mode(settings) == "open":
        note = (
            "No ADMIN_TOKEN is set: the dashboard is open, so it binds 127.0.0.1 only "
            "(set ADMIN_TOKEN to reach it from elsewhere)."
        )
        return LOOPBACK, settings.dashboard_port, note
    return settings.dashboard_host, settings.dashboard_port, None


def streamlit_command(host: str, port: int) -> list[str]:
    """The `streamlit run` command line for the dashboard script."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_SCRIPT),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--server.runOnSave",
        "false",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "minimal",
        "--global.developmentMode",
        "false",
    ]


def run_dashboard(settings: Settings) -> int:
    """`liveavatar dashboard`: become the Streamlit server (returns only if exec fails)."""
    host, port, note = dashboard_address(settings)
    if note:
        print(f"liveavatar dashboard: {note}", file=sys.stderr)  # noqa: T201
    shown = "localhost" if host in (LOOPBACK, "0.0.0.0") else host  # noqa: S104
    print(f"liveavatar dashboard: serving http://{shown}:{port}/", file=sys.stderr)  # noqa: T201
    command = streamlit_command(host, port)
    sys.stderr.flush()
    # exec, not a child: signals (Ctrl-C, Cloud Run's SIGTERM) reach Streamlit directly.
    os.execv(command[0], command)  # noqa: S606
    return 1  # pragma: no cover


def wait_healthy(
    host: str, port: int, proc: subprocess.Popen[bytes] | None = None, *, timeout_s: float
) -> bool:
    """Poll the dashboard's health endpoint until it answers, `proc` exits, or time is up."""
    target = LOOPBACK if host in ("0.0.0.0", "") else host  # noqa: S104
    url = f"http://{target}:{port}{HEALTH_PATH}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)  # polling interval, not a readiness guess
    return False
