"""The benchmarks' child processes (emulator, light peer, backends): started pinned,
their output drained and summarized, stopped for sure; and the few HTTP calls made to a
backend (health, metrics)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from liveavatar.child_lifetime import exit_with_parent

REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
_CHILDREN: list[asyncio.subprocess.Process] = []
_VERBOSE = False


def set_verbose(on: bool) -> None:
    """Progress lines on stderr (`log`) or none."""
    global _VERBOSE
    _VERBOSE = on


def log(message: str) -> None:
    if _VERBOSE:
        print(f"[bench.proxy] {message}", file=sys.stderr, flush=True)


class Child:
    """A child process whose stdout and stderr are drained and summarized, never shown."""

    def __init__(self, name: str, proc: asyncio.subprocess.Process) -> None:
        self.name = name
        self.proc = proc
        self.tail: deque[str] = deque(maxlen=25)
        self.log_counts: Counter[str] = Counter()
        self._watchers: list[Callable[[dict[str, Any]], None]] = []
        assert proc.stdout is not None and proc.stderr is not None
        self._drains = [
            asyncio.create_task(self._drain(proc.stdout), name=f"{name}-stdout-drain"),
            asyncio.create_task(self._drain(proc.stderr), name=f"{name}-stderr-drain"),
        ]

    @classmethod
    async def spawn(
        cls, name: str, argv: Sequence[str], env: dict[str, str], cpus: frozenset[int] | None
    ) -> Child:
        """Start `argv` in its own session (Ctrl-C reaches only us), pinned to `cpus`; the
        kernel sends it SIGTERM if we die without stopping it."""
        taskset = shutil.which("taskset")
        prefix = ["taskset", "-c", ",".join(map(str, sorted(cpus)))] if cpus and taskset else []
        proc = await asyncio.create_subprocess_exec(
            *prefix,
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            cwd=REPO,
            start_new_session=True,
            preexec_fn=exit_with_parent(),
            limit=1 << 20,
        )
        _CHILDREN.append(proc)
        child = cls(name, proc)
        if cpus and not prefix:
            child.pin(cpus)
        return child

    def pin(self, cpus: frozenset[int]) -> None:
        """Move every thread of the running child onto `cpus` (best effort)."""
        with contextlib.suppress(OSError):
            for tid in os.listdir(f"/proc/{self.proc.pid}/task"):
                with contextlib.suppress(OSError):
                    os.sched_setaffinity(int(tid), cpus)

    async def _drain(self, stream: asyncio.StreamReader) -> None:
        while True:
            try:
                line = await stream.readline()
            except ValueError:  # a line above the limit: skip it
                continue
            if not line:
                return
            text = line.decode(errors="replace").rstrip()
            if not text:
                continue
            self.tail.append(text[:400])
            try:
                entry = json.loads(text)
            except ValueError:
                entry = None
            if not isinstance(entry, dict):
                self.log_counts["(non-JSON output line)"] += 1
                continue
            for watch in self._watchers:
                watch(entry)
            severity = entry.get("severity")
            if severity in ("WARNING", "ERROR", "CRITICAL"):
                self.log_counts[f"{severity}: {str(entry.get('message'))[:100]}"] += 1

    async def wait_for_log(self, message: str, timeout_s: float) -> dict[str, Any]:
        """The first JSON log entry with this message; fails if the child exits first."""
        found: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

        def watch(entry: dict[str, Any]) -> None:
            if entry.get("message") == message and not found.done():
                found.set_result(entry)

        self._watchers.append(watch)
        exited = asyncio.create_task(self.proc.wait(), name=f"{self.name}-wait")
        either: list[asyncio.Future[Any]] = [found, exited]
        try:
            done, _ = await asyncio.wait(
                either, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            exited.cancel()
            self._watchers.remove(watch)
        if found in done:
            return found.result()
        raise RuntimeError(f"{self.name} did not log {message!r}: {self.describe_failure()}")

    def describe_failure(self) -> str:
        code = self.proc.returncode
        state = "still running" if code is None else f"exited with {code}"
        return f"{state}; last output: " + " | ".join(list(self.tail)[-5:])

    async def stop(self) -> None:
        """SIGTERM, then after STOP_TIMEOUT_S SIGKILL to its whole process group (the
        workers of a server that spawns some); the drains end with the pipes."""
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.terminate()
            try:
                async with asyncio.timeout(STOP_TIMEOUT_S):
                    await self.proc.wait()
            except TimeoutError:
                # Not yet reaped, so the group's id is still this child's own.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                await self.proc.wait()
        log(f"{self.name} stopped with exit code {self.proc.returncode}")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2.0):
                await asyncio.gather(*self._drains, return_exceptions=True)
        for drain in self._drains:
            drain.cancel()


def kill_leftovers() -> None:
    """Last resort after the event loop is gone (a second Ctrl-C, say)."""
    for proc in _CHILDREN:
        if proc.returncode is None:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)


def child_env(**overrides: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().startswith(("EMULATOR_", "LIVE_", "VERTEX_AI_"))
        and k.upper() not in ("GEMINI_API_KEY", "LOG_LEVEL", "PORT", "HOST")
    }
    env.update(overrides)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


# ---- HTTP ----------------------------------------------------------------------------------


async def http_get(port: int, path: str, timeout_s: float = 3.0) -> tuple[int, str]:
    """A minimal HTTP/1.1 GET to 127.0.0.1 (status, body); raises OSError or TimeoutError."""
    async with asyncio.timeout(timeout_s):
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            request = f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n\r\n"
            writer.write(request.encode())
            await writer.drain()
            data = await reader.read()
        finally:
            writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    parts = head.split(b" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise OSError("malformed HTTP response")
    return int(parts[1]), body.decode(errors="replace")


async def wait_healthy(backend: Child, port: int, timeout_s: float) -> None:
    """Poll /healthz until it answers 200; fails early if the backend exits."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if backend.proc.returncode is not None:
            break
        with contextlib.suppress(OSError, TimeoutError):
            status, _ = await http_get(port, "/healthz", 1.0)
            if status == 200:
                return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"backend not healthy: {backend.describe_failure()}")


def metric_value(text: str, name: str) -> float | None:
    """The value of an unlabelled sample in Prometheus text format."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


async def backend_metrics(port: int, *, idle_timeout_s: float = 10.0) -> str | None:
    """/metrics once the backend reports no active sessions (bounded), or None."""
    deadline = time.monotonic() + idle_timeout_s
    text = None
    while True:
        with contextlib.suppress(OSError, TimeoutError, ValueError):
            status, body = await http_get(port, "/metrics")
            if status == 200:
                text = body
                if not metric_value(body, "liveavatar_active_sessions"):
                    return text
        if time.monotonic() > deadline:
            return text
        await asyncio.sleep(0.1)
