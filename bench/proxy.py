"""Backend proxy overhead: what `liveavatar serve` adds to the audio round trip.

`python -m bench.proxy --sessions N --seconds S --json` starts two child processes, the Live
emulator with the echo brain (TLS, as the backend's SDK always uses wss) and the backend
(`liveavatar serve`, pinned to one core where the machine has more than one; the emulator
and this load generator get the other cores). Then, in one run and against the same children:

1. direct: N sessions speak the Live protocol straight to the emulator over TLS, sending
   20 ms chunks of 16 kHz PCM16 as base64 JSON in real time for S seconds;
2. proxied: one short warm-up session (so the backend's first-use imports and caches are
   not billed to the sessions), an idle RSS sample, then N browser sessions to the backend
   (`hello`, `ready`, then raw binary PCM16 frames) in real time for S seconds.

On a two-core machine the emulator shares the load generator's core, except in the direct
phase, where the idle backend's core is lent to it so the baseline is not load-generator
bound. Each chunk carries its sequence number in its first samples, so every echo is
matched to its own send time (round trip = arrival - send, on this process's monotonic
clock). Chunks sent in the first `--warmup` seconds are excluded; CPU is measured over the
remaining steady window from /proc (utime + stime, in % of one core).

Main keys: `direct_ms`, `proxied_ms` (p50/p95/p99/max/n), `added_ms` (proxied minus direct,
per percentile), `backend_cpu_percent`, `backend_rss_mb` (peak), `rss_mb_per_session`
((peak - idle) / N; `rss_mb_per_session_connected` uses the RSS once all sessions are
connected, before audio, so it excludes backlog buffers), `dropped_chunks` (unanswered +
the backend's liveavatar_dropped_audio_chunks_total), `loadgen_cpu_percent`,
`emulator_cpu_percent`, `other_cpu_percent` (approximate: everything else on the machine,
a sign of a skewed run), `chunks_sent`/`chunks_received` per phase, `errors` and
`error_details`, and per-phase detail (`send_lag_ms`: how late the pacing timers fired;
`server_errors`, `server_closes`).

`--recording` runs the whole measurement twice, side by side, with fresh children each time:
recording off, then on for every session (a persona with `recording` saved in the
backend's store, recordings written to its media folder). It reports both runs
(`recording.off`, `recording.on`), `recording.p95_added_rise_ms` (on minus off: the latency
recording adds, target <= 2 ms), `recording.cpu_percent_per_recorded_session` (the
backend's CPU on minus off, divided by the sessions, in % of one core) and what was
recorded (`recording.files`, `recording.bytes`).

`--peer light` puts `bench/_echo_peer.py` in the emulator's place for both phases: the
same echo (setup answered, each audio chunk returned at 24 kHz) on picows, light enough
that a few hundred sessions fit beside the load generator on one core, where the emulator
fills that core at about 140 (docs/PERFORMANCE.md). The emulator stays the default.

The result is one JSON object on stdout; children's logs are drained and summarized, never
echoed. `--find-max` searches (doubling, then bisection to 5 %; fresh children per probe,
a probe disturbed by other processes is repeated once) for the most sessions whose p95
added latency stays under `--threshold-ms` with no errors and at most 0.1 % drops.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from liveavatar.emulator.tls import client_context

from ._loadgen import LIVE_PATH, PhaseResult, Target, run_phase, summarize_ms

REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
OTHER_CPU_LIMIT = 10.0  # % of a core used by unrelated processes before a run is suspect
_CHILDREN: list[asyncio.subprocess.Process] = []
_VERBOSE = False


def _log(message: str) -> None:
    if _VERBOSE:
        print(f"[bench.proxy] {message}", file=sys.stderr, flush=True)


# ---- /proc readings ------------------------------------------------------------------------


def proc_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process (all its threads), or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime: fields 14 and 15


def proc_rss_mb(pid: int) -> float | None:
    """Resident set size (VmRSS) of a process in MiB, or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


def host_busy_seconds(*, irq: bool = False) -> float | None:
    """CPU seconds all cores spent in processes (user, nice, system), or with `irq` in
    interrupt and softirq handling (where loopback networking is mostly accounted)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None
    ticks = [int(v) for v in fields[1:8]]  # user nice system idle iowait irq softirq
    return (ticks[5] + ticks[6] if irq else ticks[0] + ticks[1] + ticks[2]) / CLK_TCK


class CpuProbe:
    """CPU use between start() and stop(), in % of one core: of a process, of this one
    (`pid=None`), or of the whole machine (`host=True`; `irq` for interrupt handling)."""

    def __init__(self, pid: int | None, *, host: bool = False, irq: bool = False) -> None:
        self.pid = pid
        self.host = host
        self.irq = irq
        self._t0 = self._c0 = 0.0
        self.percent: float | None = None
        self.seconds: float | None = None  # CPU seconds between start() and stop()

    def _cpu(self) -> float | None:
        if self.host:
            return host_busy_seconds(irq=self.irq)
        return time.process_time() if self.pid is None else proc_cpu_seconds(self.pid)

    def start(self) -> None:
        self._t0, self._c0 = time.monotonic(), self._cpu() or 0.0
        self.percent = None

    def stop(self) -> None:
        cpu, wall = self._cpu(), time.monotonic() - self._t0
        if cpu is not None and wall > 0 and self._t0:
            self.seconds = cpu - self._c0
            self.percent = round(self.seconds / wall * 100, 1)


# ---- children ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CpuLayout:
    """Which cores each process may use; None leaves it unpinned."""

    backend: frozenset[int] | None
    emulator: frozenset[int] | None
    loadgen: frozenset[int] | None

    @property
    def emulator_direct(self) -> frozenset[int] | None:
        """The emulator's cores in the direct phase.

        With two cores the emulator shares one with the load generator; in the direct phase
        the backend idles, so the emulator moves to the backend's core to have one alone.
        """
        if self.backend and self.emulator and self.loadgen and self.emulator & self.loadgen:
            return self.backend
        return self.emulator

    @classmethod
    def detect(cls) -> CpuLayout:
        """Backend alone on the first core; emulator and load generator on the rest."""
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            return cls(None, None, None)
        first, second = frozenset(cpus[:1]), frozenset(cpus[1:2])
        if len(cpus) == 2:
            return cls(first, second, second)
        return cls(first, second, frozenset(cpus[2:]))

    def describe(self) -> dict[str, list[int] | str]:
        """The layout as JSON-ready values."""

        def one(cpus: frozenset[int] | None) -> list[int] | str:
            return sorted(cpus) if cpus else "unpinned"

        return {
            "backend": one(self.backend),
            "emulator": one(self.emulator),
            "emulator_direct_phase": one(self.emulator_direct),
            "loadgen": one(self.loadgen),
        }


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
        """Start `argv` in its own session (Ctrl-C reaches only us), pinned to `cpus`."""
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
        """SIGTERM, then SIGKILL after STOP_TIMEOUT_S; the drains end with the pipes."""
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.terminate()
            try:
                async with asyncio.timeout(STOP_TIMEOUT_S):
                    await self.proc.wait()
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
                await self.proc.wait()
        _log(f"{self.name} stopped with exit code {self.proc.returncode}")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2.0):
                await asyncio.gather(*self._drains, return_exceptions=True)
        for drain in self._drains:
            drain.cancel()


def _kill_leftovers() -> None:
    """Last resort after the event loop is gone (a second Ctrl-C, say)."""
    for proc in _CHILDREN:
        if proc.returncode is None:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)


def _child_env(**overrides: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().startswith(("EMULATOR_", "LIVE_", "VERTEX_AI_"))
        and k.upper() not in ("GEMINI_API_KEY", "LOG_LEVEL", "PORT", "HOST")
    }
    env.update(overrides)
    return env


def _free_port() -> int:
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


async def _sample_rss(pid: int, peak: list[float]) -> None:
    while True:
        rss = proc_rss_mb(pid)
        if rss is not None:
            peak[0] = max(peak[0], rss)
        await asyncio.sleep(0.2)


# ---- one run -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunConfig:
    """What one run measures."""

    sessions: int
    seconds: float
    warmup_s: float
    drain_timeout_s: float
    layout: CpuLayout
    live_client: str = "picows"
    recording: bool = False
    # Where the backend's `liveavatar` package is imported from (PYTHONPATH), to compare
    # two revisions side by side; None: the same as this process.
    backend_src: str | None = None
    # The backend's HTTP/WebSocket server: `uvicorn` (`liveavatar serve`) or `granian`
    # (bench/_granian_serve.py, an experiment).
    server: str = "uvicorn"
    # The Live peer of both phases: `emulator` (its echo brain) or `light`
    # (bench/_echo_peer.py: the same echo on picows, so hundreds of sessions fit beside
    # the load generator on one core).
    peer: str = "emulator"


async def spawn_peer(cfg: RunConfig, tmp: str) -> tuple[Child, int]:
    """The Live peer (`cfg.peer`) with its certificate in `tmp`, and its port."""
    light = cfg.peer == "light"
    peer = await Child.spawn(
        "emulator",
        [sys.executable, "-m", "bench._echo_peer", "--cert-dir", tmp]
        if light
        else [sys.executable, "-m", "liveavatar", "emulator", "--port", "0"]
        + ["--brain", "echo", "--cert-dir", tmp],
        _child_env(LOG_LEVEL="INFO", NO_GCE_CHECK="true"),
        cfg.layout.emulator,
    )
    listening = await peer.wait_for_log(
        "echo peer listening" if light else "live emulator listening", START_TIMEOUT_S
    )
    port = urlsplit(str(listening["url"])).port
    assert port is not None
    return peer, port


async def spawn_backend(
    cfg: RunConfig, tmp: str, emu_port: int, port: int, *, name: str = "backend"
) -> Child:
    """`liveavatar serve` (or Granian) on `port` in front of the peer on `emu_port`; its
    data in `tmp`/`name`."""
    serve = ["bench._granian_serve"] if cfg.server == "granian" else ["liveavatar", "serve"]
    data = Path(tmp) / ("data" if name == "backend" else f"{name}-data")
    return await Child.spawn(
        name,
        [sys.executable, "-m", *serve],
        _child_env(
            LIVE_BACKEND="emulator",
            LIVE_CLIENT=cfg.live_client,
            VERTEX_AI_ENDPOINT=f"https://{HOST}:{emu_port}",
            LIVE_CA_FILE=str(Path(tmp) / "cert.pem"),
            DATA_DIR=str(data),
            MEDIA_DIR=str(Path(tmp) / "media"),
            HOST=HOST,
            PORT=str(port),
            MAX_SESSIONS=str(max(1000, 4 * cfg.sessions)),
            # Every simulated browser is the same anonymous user from one address.
            MAX_SESSIONS_PER_USER=str(max(1000, 4 * cfg.sessions)),
            RATE_LIMIT_CONNECTIONS=str(max(1000, 4 * cfg.sessions)),
            QUOTA_MINUTES_PER_DAY="100000",
            LOG_LEVEL="WARNING",
            NO_GCE_CHECK="true",
            ENVIRONMENT="local",
            **({"PYTHONPATH": cfg.backend_src} if cfg.backend_src else {}),
        ),
        cfg.layout.backend,
    )


async def run_once(cfg: RunConfig) -> dict[str, Any]:
    """Start both children, run the direct then the proxied phase, stop the children."""
    errors: Counter[str] = Counter()
    out: dict[str, Any] = {
        "sessions": cfg.sessions,
        "seconds": cfg.seconds,
        "live_client": cfg.live_client,
        "server": cfg.server,
        "peer": cfg.peer,
    }
    load_before = round(os.getloadavg()[0], 2)
    emulator: Child | None = None
    backend: Child | None = None
    with tempfile.TemporaryDirectory(prefix="bench-proxy-") as tmp:
        try:
            emulator, emu_port = await spawn_peer(cfg, tmp)
            port = _free_port()
            if cfg.recording:
                await _save_recording_persona(Path(tmp) / "data")
            backend = await spawn_backend(cfg, tmp, emu_port, port)
            await wait_healthy(backend, port, START_TIMEOUT_S)
            if cfg.layout.loadgen:
                os.sched_setaffinity(0, cfg.layout.loadgen)
            _log(f"emulator on {emu_port}, backend on {port}")
            await _measure(cfg, Path(tmp), emu_port, port, emulator, backend, out, errors)
            recorded = list((Path(tmp) / "media").glob("recordings/*/*.ogg"))
            out["recorded_files"] = len(recorded)
            out["recorded_bytes"] = sum(f.stat().st_size for f in recorded)
        except Exception as exc:  # the run reports any failure in its JSON, never a traceback
            errors[f"run failed: {type(exc).__name__}: {exc}"[:300]] += 1
        finally:
            stops = [c.stop() for c in (backend, emulator) if c is not None]
            await asyncio.gather(*stops, return_exceptions=True)
    if backend is not None:
        out["backend_log"] = dict(backend.log_counts.most_common(10))
        if backend.proc.returncode not in (0, -signal.SIGTERM):
            out["backend_exit_code"] = backend.proc.returncode
            out["backend_tail"] = list(backend.tail)[-10:]
    if emulator is not None:
        out["emulator_log"] = dict(emulator.log_counts.most_common(5))
    out["errors"] = sum(errors.values())
    out["error_details"] = dict(errors)
    out["cpu_layout"] = cfg.layout.describe()
    # Other work on the machine skews everything above (see also other_cpu_percent).
    out["host_load_avg_1m"] = {"before": load_before, "after": round(os.getloadavg()[0], 2)}
    return out


async def _measure(
    cfg: RunConfig,
    cert_dir: Path,
    emu_port: int,
    port: int,
    emulator: Child,
    backend: Child,
    out: dict[str, Any],
    errors: Counter[str],
) -> None:
    emu_pid, backend_pid = emulator.proc.pid, backend.proc.pid
    direct_target = Target("direct", HOST, emu_port, LIVE_PATH, client_context(cert_dir))
    proxied_target = Target("proxied", HOST, port, "/ws")

    _log(f"direct: {cfg.sessions} sessions for {cfg.seconds} s")
    d_emu, d_self = CpuProbe(emu_pid), CpuProbe(None)
    layout = cfg.layout
    if layout.emulator_direct != layout.emulator and layout.emulator_direct:
        emulator.pin(layout.emulator_direct)
    try:
        direct = await run_phase(
            direct_target,
            cfg.sessions,
            cfg.seconds,
            warmup_s=cfg.warmup_s,
            drain_timeout_s=cfg.drain_timeout_s,
            probes=[d_emu, d_self],
        )
    finally:
        if layout.emulator_direct != layout.emulator and layout.emulator:
            emulator.pin(layout.emulator)
    errors.update(direct.errors)

    _log("proxied warm-up session")
    warm = await run_phase(proxied_target, 1, 1.0, warmup_s=0.0, drain_timeout_s=5.0)
    errors.update({f"warm-up {k}": v for k, v in warm.errors.items()})
    if warm.chunks_received == 0:
        errors["warm-up: no echo through the backend"] += 1
    await backend_metrics(port)
    idle_rss = proc_rss_mb(backend_pid)

    _log(f"proxied: {cfg.sessions} sessions for {cfg.seconds} s")
    p_backend, p_emu, p_self = CpuProbe(backend_pid), CpuProbe(emu_pid), CpuProbe(None)
    p_host, p_irq = CpuProbe(None, host=True), CpuProbe(None, host=True, irq=True)
    peak = [idle_rss or 0.0]
    connected_rss: list[float | None] = [None]

    # All the backend's CPU from the moment every session is connected until the last echo
    # or the drain timeout, per chunk echoed: the work per round trip, which (unlike % of a
    # core) does not change when other processes delay when that work happens.
    p_work = CpuProbe(backend_pid)

    def at_connected() -> None:
        connected_rss[0] = proc_rss_mb(backend_pid)
        p_work.start()

    sampler = asyncio.create_task(_sample_rss(backend_pid, peak), name="bench-rss-sampler")
    try:
        proxied = await run_phase(
            proxied_target,
            cfg.sessions,
            cfg.seconds,
            warmup_s=cfg.warmup_s,
            drain_timeout_s=cfg.drain_timeout_s,
            probes=[p_backend, p_emu, p_self, p_host, p_irq],
            on_connected=at_connected,
        )
    finally:
        sampler.cancel()
    p_work.stop()
    errors.update(proxied.errors)
    if backend.proc.returncode is not None:
        errors[f"backend exited during the run (code {backend.proc.returncode})"] += 1
    metrics = await backend_metrics(port)
    backend_dropped = (
        metric_value(metrics, "liveavatar_dropped_audio_chunks_total") if metrics else None
    )
    if metrics is None:
        errors["backend /metrics unavailable"] += 1
    out.update(_report(cfg, direct, proxied, idle_rss, peak[0], backend_dropped))
    if idle_rss is not None and connected_rss[0] is not None and proxied.connected:
        per = (connected_rss[0] - idle_rss) / proxied.connected
        out["rss_mb_per_session_connected"] = round(per, 3)
    out["backend_cpu_percent"] = p_backend.percent
    if p_work.seconds is not None and proxied.chunks_received:
        out["backend_cpu_us_per_chunk"] = round(p_work.seconds / proxied.chunks_received * 1e6, 1)
    out["loadgen_cpu_percent"] = p_self.percent
    out["emulator_cpu_percent"] = {"direct": d_emu.percent, "proxied": p_emu.percent}
    out["loadgen_cpu_percent_direct"] = d_self.percent
    ours = (p_backend.percent, p_emu.percent, p_self.percent)
    if p_host.percent is not None and None not in ours:
        # Anything else running on this machine during the proxied phase (in % of a core).
        out["other_cpu_percent"] = round(p_host.percent - sum(v or 0.0 for v in ours), 1)
    out["irq_cpu_percent"] = p_irq.percent
    out["warnings"] = _warnings(out, direct, proxied)


def _report(
    cfg: RunConfig,
    direct: PhaseResult,
    proxied: PhaseResult,
    idle_rss: float | None,
    peak_rss: float,
    backend_dropped: float | None,
) -> dict[str, Any]:
    d_ms, p_ms = summarize_ms(direct.rtts), summarize_ms(proxied.rtts)
    added: dict[str, float | None] = {}
    for q in ("p50", "p95", "p99"):
        d, p = d_ms[q], p_ms[q]
        added[q] = round(p - d, 2) if d is not None and p is not None else None
    per_session = None
    if idle_rss is not None and proxied.connected:
        per_session = round((peak_rss - idle_rss) / proxied.connected, 3)
    dropped = proxied.unanswered + int(backend_dropped or 0)
    return {
        "warmup_s": cfg.warmup_s,
        "direct_ms": d_ms,
        "proxied_ms": p_ms,
        "added_ms": added,
        "backend_rss_mb": round(peak_rss, 1),
        "backend_rss_idle_mb": round(idle_rss, 1) if idle_rss is not None else None,
        "rss_mb_per_session": per_session,
        "dropped_chunks": dropped,
        "backend_dropped_audio_chunks": backend_dropped,
        "chunks_sent": {"direct": direct.chunks_sent, "proxied": proxied.chunks_sent},
        "chunks_received": {"direct": direct.chunks_received, "proxied": proxied.chunks_received},
        "direct": direct.summary(),
        "proxied": proxied.summary(),
    }


def _warnings(out: dict[str, Any], direct: PhaseResult, proxied: PhaseResult) -> list[str]:
    notes = []
    for label, value in (
        ("load generator (proxied phase)", out.get("loadgen_cpu_percent")),
        ("load generator (direct phase)", out.get("loadgen_cpu_percent_direct")),
        ("emulator (direct phase)", out["emulator_cpu_percent"]["direct"]),
        ("emulator (proxied phase)", out["emulator_cpu_percent"]["proxied"]),
        ("backend", out.get("backend_cpu_percent")),
    ):
        if value is not None and value > 85:
            notes.append(f"{label} used {value}% of a core: it may be saturated")
    other = out.get("other_cpu_percent")
    if other is not None and other > OTHER_CPU_LIMIT:
        notes.append(f"other processes used {other}% of a core in the proxied phase: skewed?")
    for phase in (direct, proxied):
        lag = summarize_ms(phase.lags)["p99"]
        if lag is not None and lag > 5:
            notes.append(f"{phase.kind}: p99 send lag {lag} ms: load generator busy or descheduled")
    return notes


async def _save_recording_persona(data_dir: Path) -> None:
    """The backend's store gets a persona with recording on (the settings' model and voice)."""
    from liveavatar.settings import Settings
    from liveavatar.store import PersonaConfig, make_store

    settings = Settings(_env_file=None, data_dir=data_dir)  # type: ignore[call-arg]
    store = make_store(settings)
    try:
        persona = PersonaConfig(
            name="Bench", model=settings.model, voice=settings.voice, recording=True
        )
        await store.put_persona(persona, expected_version=None)
    finally:
        await store.close()


async def recording_side_by_side(base: RunConfig) -> dict[str, Any]:
    """The same run with recording off, then on for every session; the difference."""
    off = await run_once(replace(base, recording=False))
    on = await run_once(replace(base, recording=True))
    rise = None
    a, b = off.get("added_ms", {}).get("p95"), on.get("added_ms", {}).get("p95")
    if a is not None and b is not None:
        rise = round(b - a, 2)
    cpu = None
    c_off, c_on = off.get("backend_cpu_percent"), on.get("backend_cpu_percent")
    if c_off is not None and c_on is not None:
        cpu = round((c_on - c_off) / base.sessions, 3)
    return {
        "sessions": base.sessions,
        "seconds": base.seconds,
        "recording": {
            "p95_added_rise_ms": rise,
            "p95_added_ms": {"off": a, "on": b},
            "cpu_percent_per_recorded_session": cpu,
            "backend_cpu_percent": {"off": c_off, "on": c_on},
            "files": on.get("recorded_files"),
            "bytes": on.get("recorded_bytes"),
            "errors": {"off": off.get("errors"), "on": on.get("errors")},
            "off": off,
            "on": on,
        },
    }


# ---- search --------------------------------------------------------------------------------


def passes(result: dict[str, Any], threshold_ms: float) -> bool:
    """Whether a run kept p95 added latency under the threshold with no errors or drops."""
    added = result.get("added_ms", {}).get("p95")
    sent = result.get("chunks_sent", {}).get("proxied", 0)
    return (
        added is not None
        and added < threshold_ms
        and result.get("errors", 1) == 0
        and result.get("dropped_chunks", 1) <= 0.001 * sent
    )


async def find_max(start: int, limit: int, threshold_ms: float, base: RunConfig) -> dict[str, Any]:
    """Double the session count from `start` until a probe fails, then bisect (5 %)."""
    probes: list[dict[str, Any]] = []

    async def probe(n: int) -> bool:
        cfg = replace(base, sessions=n)
        for attempt in range(2):
            _log(f"probe: {n} sessions")
            r = await run_once(cfg)
            # A probe that shared the machine with other busy processes is repeated once.
            if (r.get("other_cpu_percent") or 0.0) <= OTHER_CPU_LIMIT or attempt:
                break
            _log(f"other processes used {r.get('other_cpu_percent')}% of a core: repeating")
            await asyncio.sleep(5.0)
        ok = passes(r, threshold_ms)
        keys = (
            "sessions", "added_ms", "direct_ms", "proxied_ms", "backend_cpu_percent",
            "loadgen_cpu_percent", "emulator_cpu_percent", "backend_rss_mb",
            "rss_mb_per_session", "dropped_chunks", "errors", "error_details",
            "other_cpu_percent", "warnings", "backend_cpu_us_per_chunk", "host_load_avg_1m",
        )  # fmt: skip
        probes.append({k: r.get(k) for k in keys} | {"pass": ok, "attempts": attempt + 1})
        return ok

    lo, hi, n = 0, None, max(1, start)
    while n <= limit:
        if not await probe(n):
            hi = n
            break
        lo, n = n, n * 2
    if hi is not None:
        while hi - lo > max(1, lo // 20):
            mid = (lo + hi) // 2
            if await probe(mid):
                lo = mid
            else:
                hi = mid
    return {
        "max_sessions_p95_added_under_20ms"
        if threshold_ms == 20
        else f"max_sessions_p95_added_under_{threshold_ms:g}ms": lo,
        "criterion": f"added_ms.p95 < {threshold_ms:g}, no errors, dropped <= 0.1% of sent",
        "limit_reached": hi is None,
        "probe_seconds": base.seconds,
        "peer": base.peer,
        "warmup_s": base.warmup_s,
        "probes": probes,
        "cpu_layout": base.layout.describe(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run, print one JSON object on stdout."""
    global _VERBOSE
    parser = argparse.ArgumentParser(
        prog="python -m bench.proxy",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sessions", type=int, default=10, help="concurrent sessions (10)")
    parser.add_argument("--seconds", type=float, default=10.0, help="audio per phase (10)")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds excluded (1)")
    parser.add_argument("--drain-timeout", type=float, default=5.0, help="wait for echoes (5)")
    parser.add_argument("--json", action="store_true", help="one compact JSON line (default)")
    parser.add_argument("--find-max", action="store_true", help="search the session count")
    parser.add_argument("--probe-seconds", type=float, default=5.0, help="per probe (5)")
    parser.add_argument("--max-sessions", type=int, default=2000, help="search limit (2000)")
    parser.add_argument("--threshold-ms", type=float, default=20.0, help="p95 added (20)")
    parser.add_argument(
        "--live-client",
        choices=["raw", "picows", "sdk"],
        default="picows",
        help="backend's Live client (picows, the product's default)",
    )
    parser.add_argument(
        "--peer",
        choices=["emulator", "light"],
        default="emulator",
        help="Live peer: the emulator's echo brain, or bench/_echo_peer.py (light)",
    )
    parser.add_argument(
        "--recording", action="store_true", help="recording off vs on, side by side"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="progress on stderr")
    args = parser.parse_args(argv)
    _VERBOSE = args.verbose
    seconds = args.probe_seconds if args.find_max else args.seconds
    if args.sessions < 1 or seconds <= 0 or not 0 <= args.warmup < seconds:
        parser.error("need --sessions >= 1 and 0 <= --warmup < seconds")
    cfg = RunConfig(
        args.sessions,
        seconds,
        args.warmup,
        args.drain_timeout,
        CpuLayout.detect(),
        args.live_client,
        peer=args.peer,
    )
    try:
        if args.recording:
            result = asyncio.run(recording_side_by_side(cfg))
        elif args.find_max:
            result = asyncio.run(find_max(args.sessions, args.max_sessions, args.threshold_ms, cfg))
        else:
            result = asyncio.run(run_once(cfg))
    except KeyboardInterrupt:
        return 130
    finally:
        _kill_leftovers()
    print(json.dumps(result) if args.json else json.dumps(result, indent=2), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
