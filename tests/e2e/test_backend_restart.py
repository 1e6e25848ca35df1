"""The backend restarts under an open page: the page reconnects and the conversation goes on.

`liveavatar up` runs the backend in its own process together with the static server, so
this test starts the three pieces separately (emulator, `liveavatar serve`, and
`python -m http.server` for frontend/) and restarts only the backend, on the same port.
"""

from __future__ import annotations

import re
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from bench._browser import (
    REPO,
    START_TIMEOUT_S,
    free_ports,
    http_ok,
    log_tail,
    origins,
    port_open,
    start_process,
    stop_process,
    wait_until,
)
from playwright.sync_api import expect

from tests.e2e.avatar_page import TURN_TIMEOUT_MS, OpenPage

pytestmark = pytest.mark.slow

QUESTION = "what is your name"
#: The page retries with backoff (0.5 s, 1 s, 2 s, … ± 25 %) while the backend is down.
RECONNECT_TIMEOUT_MS = 45_000


class Pieces:
    """The emulator, backend and static server of one test, each a child process."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.emulator_port, self.backend_port, self.frontend_port = free_ports(3)
        self.cert_dir = workdir / "emulator"
        self.procs: list[subprocess.Popen[bytes]] = []
        self.backend: subprocess.Popen[bytes] | None = None

    def _start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        proc = start_process(args, {"NO_GCE_CHECK": "true", **env}, self.workdir / f"{name}.log")
        self.procs.append(proc)
        return proc

    def _ready(self, name: str, proc: subprocess.Popen[bytes], check: Callable[[], bool]) -> None:
        try:
            wait_until(
                check, timeout_s=START_TIMEOUT_S, what=name, alive=lambda: proc.poll() is None
            )
        except (TimeoutError, RuntimeError) as exc:
            raise RuntimeError(f"{exc}\n{log_tail(self.workdir / f'{name}.log')}") from exc

    def start_emulator(self) -> None:
        args = ["-m", "liveavatar", "emulator", "--port", str(self.emulator_port)]
        proc = self._start("emulator", [*args, "--cert-dir", str(self.cert_dir)], {})
        self._ready("emulator", proc, lambda: port_open(self.emulator_port))

    def start_backend(self) -> None:
        env = {
            "LIVE_BACKEND": "emulator",
            "VERTEX_AI_ENDPOINT": f"https://127.0.0.1:{self.emulator_port}",
            "LIVE_CA_FILE": str(self.cert_dir / "cert.pem"),
            "HOST": "127.0.0.1",
            "PORT": str(self.backend_port),
            "ALLOWED_ORIGINS": origins(self.frontend_port),
            "DATA_DIR": str(self.workdir / "data"),
            "SHUTDOWN_GRACE_S": "1",
        }
        self.backend = self._start("backend", ["-m", "liveavatar", "serve"], env)
        backend = self.backend
        self._ready(
            "backend", backend, lambda: http_ok(f"http://127.0.0.1:{self.backend_port}/healthz")
        )

    def stop_backend(self) -> int:
        """SIGTERM (the backend tells every page `going_away`); return the exit code."""
        assert self.backend is not None
        self.backend.send_signal(signal.SIGTERM)
        code = self.backend.wait(30)
        self.procs.remove(self.backend)
        self.backend = None
        return code

    def start_frontend(self) -> None:
        args = ["-m", "http.server", "--bind", "127.0.0.1", str(self.frontend_port)]
        proc = self._start("frontend", [*args, "--directory", str(REPO / "frontend")], {})
        self._ready("frontend", proc, lambda: http_ok(f"http://127.0.0.1:{self.frontend_port}/"))

    def page_url(self) -> str:
        backend = f"ws://127.0.0.1:{self.backend_port}/ws"
        return f"http://127.0.0.1:{self.frontend_port}/?autostart=1&avatar=drawn&backend={backend}"

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            stop_process(proc)
        self.procs.clear()


@pytest.fixture
def pieces(tmp_path: Path) -> Iterator[Pieces]:
    started = Pieces(tmp_path)
    try:
        started.start_emulator()
        started.start_backend()
        started.start_frontend()
        yield started
    finally:
        started.stop_all()


def test_the_page_reconnects_after_a_backend_restart_and_the_next_turn_works(
    pieces: Pieces, open_page: OpenPage
) -> None:
    page = open_page(pieces.page_url())
    page.wait_state("listening")
    page.wait_for("h.connected")

    page.testid("text-input").fill(QUESTION)
    page.testid("send").click()
    page.wait_event("turn_complete")

    assert pieces.stop_backend() == 0
    page.wait_event("going_away")
    # The backend is down until it is started again, so the page must be retrying now.
    page.wait_state("reconnecting")
    page.screenshot("reconnecting")
    expect(page.testid("error")).to_be_visible()

    pieces.start_backend()
    page.wait_for("h.connected && h.state === 'listening'", timeout_ms=RECONNECT_TIMEOUT_MS)
    page.screenshot("listening-after-restart")
    expect(page.testid("error")).to_be_hidden()
    assert len(page.events("ready")) == 2, "one session before the restart, one after"

    completed = len(page.events("turn_complete"))
    page.reset_peaks()
    page.testid("text-input").fill(QUESTION)
    page.testid("send").click()
    expect(page.testid("text-input")).to_have_value("")
    page.wait_for_answer_audio()
    page.wait_event("turn_complete", after=completed)
    expect(page.transcript("model").last).to_contain_text(
        re.compile(r"\w"), timeout=TURN_TIMEOUT_MS
    )
