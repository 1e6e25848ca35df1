"""A benchmark that starts `liveavatar up` (and Chromium) leaves nothing running when it is
stopped from outside, and neither does `liveavatar up`: no child process survives and
every port of the stack is free again. Real processes; every wait is a bounded poll."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from bench._browser import free_ports, http_ok, stack_env

from tests.support.proc_tree import Proc, descendants, environ, poll, port_free, survivors

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
PORT_VARS = ("EMULATOR_PORT", "PORT", "FRONTEND_PORT", "DASHBOARD_PORT")
START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0


def _start(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, *args],
            cwd=REPO,
            env={**os.environ, "NO_GCE_CHECK": "true", **env},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            # Its own process group, signalled as a whole as `kill -- -PGID` does.
            start_new_session=True,
        )


def _find(procs: list[Proc], needle: str) -> Proc | None:
    return next((p for p in procs if needle in p.cmdline), None)


def _assert_all_gone(procs: list[Proc], ports: list[int], log: Path) -> None:
    assert poll(lambda: not survivors(procs), STOP_TIMEOUT_S), (
        f"still running: {survivors(procs)}\n--- log ---\n{log.read_text()[-3000:]}"
    )
    assert poll(lambda: all(port_free(p) for p in ports), STOP_TIMEOUT_S), (
        f"ports still taken: {[p for p in ports if not port_free(p)]}"
    )


def test_sigterm_to_the_benchmarks_group_stops_the_stack_and_chromium(tmp_path: Path) -> None:
    log = tmp_path / "bench.log"
    bench = _start(
        ["-m", "bench.browser_latency", "--blocks", "1", "--min-blocks", "1"]
        + ["--keep", str(tmp_path / "keep")],
        log,
        {},
    )
    try:
        # Chromium starts once the stack answers: then every child is there.
        started = poll(
            lambda: (
                _find(descendants(bench.pid), "chromium") is not None or bench.poll() is not None
            ),
            START_TIMEOUT_S,
        )
        assert started and bench.poll() is None, log.read_text()[-3000:]
        procs = descendants(bench.pid)
        up = _find(procs, "liveavatar up")
        assert up is not None, [p.cmdline for p in procs]
        ports = [int(environ(up.pid)[name]) for name in PORT_VARS]
        assert _find(procs, "liveavatar emulator") is not None
        os.killpg(bench.pid, signal.SIGTERM)
        bench.wait(STOP_TIMEOUT_S)
        _assert_all_gone(procs, ports, log)
    finally:
        if bench.poll() is None:
            os.killpg(bench.pid, signal.SIGKILL)
            bench.wait()


def _start_up(tmp_path: Path) -> tuple[subprocess.Popen[bytes], list[int], Path]:
    emulator, backend, frontend, dashboard = ports = free_ports(4)
    log = tmp_path / "up.log"
    env = stack_env(tmp_path, emulator, backend, frontend, dashboard)
    up = _start(["-m", "liveavatar", "up"], log, env)
    return up, ports, log


def test_up_killed_outright_takes_its_emulator_and_dashboard_down(tmp_path: Path) -> None:
    up, ports, log = _start_up(tmp_path)
    try:
        assert poll(
            lambda: http_ok(f"http://127.0.0.1:{ports[1]}/healthz") or up.poll() is not None,
            START_TIMEOUT_S,
        )
        assert up.poll() is None, log.read_text()[-3000:]
        procs = descendants(up.pid)
        assert _find(procs, "liveavatar emulator") is not None
        assert _find(procs, "dashboard") is not None, [p.cmdline for p in procs]
        # No `finally` runs: the children hear of it from the kernel alone.
        up.kill()
        up.wait()
        _assert_all_gone(procs, ports, log)
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait()


def test_up_stopped_while_it_starts_leaves_nothing(tmp_path: Path) -> None:
    up, ports, log = _start_up(tmp_path)
    try:
        # As soon as the emulator is spawned, before the backend serves (and handles
        # signals itself): SIGTERM then takes `up`'s own way out.
        assert poll(
            lambda: (
                _find(descendants(up.pid), "liveavatar emulator") is not None
                or up.poll() is not None
            ),
            START_TIMEOUT_S,
        )
        procs = descendants(up.pid)
        up.terminate()
        up.wait(STOP_TIMEOUT_S)
        _assert_all_gone(procs, ports, log)
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait()
