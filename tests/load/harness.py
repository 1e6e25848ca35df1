"""The load run's stage: two emulators (echo and script brains), a backend process in front
of each, locust against both, and the backends' memory and session count sampled as it runs.

Every server is a child process: the backends (`liveavatar serve`, as Cloud Run runs it) so
their memory and CPU are theirs alone, the emulators so the script brain's speech
recognition cannot starve the echo brain of the GIL. Locust runs as a child process too: it
patches the standard library with gevent on import, which must not touch this one.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from bench._emulator_proc import emulator_process

from liveavatar.dashboard.analytics import active_sessions
from liveavatar.emulator.tls import CERT_NAME
from tests.support.procs import free_port, wait_http

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = Path(__file__).with_name("locustfile.py")


@dataclass(frozen=True)
class Stack:
    """The running servers: each backend's WebSocket URL, HTTP URL and process id."""

    echo_ws: str
    script_ws: str
    echo_http: str
    script_http: str
    echo_pid: int
    script_pid: int


@dataclass(frozen=True)
class Stat:
    """One row of locust's statistics (times in ms)."""

    name: str
    requests: int
    failures: int
    p50: float
    p95: float
    p99: float
    max: float


@dataclass
class Sample:
    """The backends at one moment of the run."""

    at_s: float
    echo_rss_mb: float
    script_rss_mb: float
    echo_sessions: int | None
    script_sessions: int | None
    echo_cpu_s: float
    echo_emulator_cpu_s: float
    locust_cpu_s: float
    load_1m: float  # the machine's load average: other work competes for the same cores


@dataclass
class LoadResult:
    exit_code: int
    stats: dict[str, Stat] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    output: str = ""


@contextlib.asynccontextmanager
async def backend_process(
    live_url: str, cert_dir: Path, data_dir: Path
) -> AsyncIterator[tuple[asyncio.subprocess.Process, int]]:
    """`liveavatar serve` in front of the emulator at `live_url` (its `wss://` URL), ready."""
    port = free_port()
    env = {
        **os.environ,
        "LIVE_BACKEND": "emulator",
        "VERTEX_AI_ENDPOINT": live_url.replace("wss://", "https://", 1),
        "LIVE_CA_FILE": str(cert_dir / CERT_NAME),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "NO_GCE_CHECK": "true",
        "DATA_DIR": str(data_dir),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "liveavatar", "serve", env=env, stdout=asyncio.subprocess.DEVNULL
    )
    try:
        await wait_http(f"http://127.0.0.1:{port}/readyz")
        yield proc, port
    finally:
        if proc.returncode is None:
            proc.terminate()
            await proc.wait()


@contextlib.asynccontextmanager
async def load_stack() -> AsyncIterator[Stack]:
    """Start both emulators and both backends; yields once every backend is ready."""
    base = Path(tempfile.mkdtemp(prefix="liveavatar-load-"))
    async with contextlib.AsyncExitStack() as stack:
        echo_url = await stack.enter_async_context(
            emulator_process(base / "echo-cert", "--brain", "echo")
        )
        script_url = await stack.enter_async_context(
            emulator_process(base / "script-cert", "--brain", "script")
        )
        echo_proc, echo_port = await stack.enter_async_context(
            backend_process(echo_url, base / "echo-cert", base / "echo-data")
        )
        script_proc, script_port = await stack.enter_async_context(
            backend_process(script_url, base / "script-cert", base / "script-data")
        )
        yield Stack(
            echo_ws=f"ws://127.0.0.1:{echo_port}/ws",
            script_ws=f"ws://127.0.0.1:{script_port}/ws",
            echo_http=f"http://127.0.0.1:{echo_port}",
            script_http=f"http://127.0.0.1:{script_port}",
            echo_pid=echo_proc.pid,
            script_pid=script_proc.pid,
        )


def cpu_s(pid: int) -> float:
    """CPU time (user + system) a process has used so far, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child_cpu_s(*words: str) -> float:
    """CPU time of this process's children whose command line holds all of `words`."""
    total = 0.0
    for children in Path("/proc/self/task").glob("*/children"):
        for pid in children.read_text().split():
            with contextlib.suppress(OSError):
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                if all(w.encode() in argv for w in words):
                    total += cpu_s(int(pid))
    return total


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MiB (Linux's /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"no VmRSS for {pid}")


async def _sessions(http: httpx.AsyncClient, url: str) -> int | None:
    with contextlib.suppress(httpx.HTTPError):
        return active_sessions((await http.get(f"{url}/metrics")).text)
    return None


async def _sample(stack: Stack, locust_pid: int, every_s: float, into: list[Sample]) -> None:
    start = time.monotonic()
    async with httpx.AsyncClient(timeout=5) as http:
        while True:
            into.append(
                Sample(
                    at_s=round(time.monotonic() - start, 1),
                    echo_rss_mb=round(rss_mb(stack.echo_pid), 1),
                    script_rss_mb=round(rss_mb(stack.script_pid), 1),
                    echo_sessions=await _sessions(http, stack.echo_http),
                    script_sessions=await _sessions(http, stack.script_http),
                    echo_cpu_s=round(cpu_s(stack.echo_pid), 1),
                    echo_emulator_cpu_s=round(child_cpu_s("emulator", "echo"), 1),
                    locust_cpu_s=round(cpu_s(locust_pid), 1),
                    load_1m=os.getloadavg()[0],
                )
            )
            await asyncio.sleep(every_s)


def read_stats(prefix: Path) -> dict[str, Stat]:
    """Locust's `<prefix>_stats.csv`, by request name (the `Aggregated` row left out)."""
    out: dict[str, Stat] = {}
    with open(f"{prefix}_stats.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["Name"] == "Aggregated":
                continue
            out[row["Name"]] = Stat(
                name=row["Name"],
                requests=int(row["Request Count"]),
                failures=int(row["Failure Count"]),
                p50=_ms(row["50%"]),
                p95=_ms(row["95%"]),
                p99=_ms(row["99%"]),
                max=_ms(row["Max Response Time"]),
            )
    return out


def _ms(text: str) -> float:
    return float(text) if text not in ("", "N/A") else float("nan")


def read_failures(prefix: Path) -> list[str]:
    with open(f"{prefix}_failures.csv", newline="") as f:
        return [f"{r['Name']}: {r['Error']} x{r['Occurrences']}" for r in csv.DictReader(f)]


async def run_locust(
    stack: Stack,
    *,
    users: int,
    script_users: int,
    seconds: int,
    spawn_rate: float,
    sample_every_s: float = 1.0,
) -> LoadResult:
    """Run locust headless against `stack` for `seconds`, sampling the backends meanwhile."""
    prefix = Path(tempfile.mkdtemp(prefix="liveavatar-locust-")) / "run"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    # locust's own reference check would print nagging lines about a newer version.
    env["LOCUST_SKIP_VERSION_CHECK"] = "1"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(spawn_rate),
        "--run-time",
        f"{seconds}s",
        "--stop-timeout",
        "40",
        "--host",
        stack.echo_ws,
        "--script-host",
        stack.script_ws,
        "--script-users",
        str(script_users),
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    result = LoadResult(exit_code=-1)
    sampler = asyncio.create_task(_sample(stack, proc.pid, sample_every_s, result.samples))
    try:
        out, _ = await proc.communicate()
    finally:
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    result.exit_code = proc.returncode if proc.returncode is not None else -1
    result.output = out.decode(errors="replace")
    result.stats = read_stats(prefix)
    result.failures = read_failures(prefix)
    return result
