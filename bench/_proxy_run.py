"""One `bench.proxy` run: the Live peer and the backend as children, the direct phase,
then the proxied one, and the report (latency added, CPU, memory, drops)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from liveavatar.emulator.tls import client_context

from ._children import (
    HOST,
    START_TIMEOUT_S,
    Child,
    backend_metrics,
    child_env,
    free_port,
    log,
    metric_value,
    wait_healthy,
)
from ._cpu import CpuLayout, CpuProbe, proc_rss_mb
from ._loadgen import LIVE_PATH, PhaseResult, Target, run_phase
from ._percentiles import summarize_ms

OTHER_CPU_LIMIT = 10.0  # % of a core used by unrelated processes before a run is suspect


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
        child_env(LOG_LEVEL="INFO", NO_GCE_CHECK="true"),
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
        child_env(
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
            port = free_port()
            if cfg.recording:
                await _save_recording_persona(Path(tmp) / "data")
            backend = await spawn_backend(cfg, tmp, emu_port, port)
            await wait_healthy(backend, port, START_TIMEOUT_S)
            if cfg.layout.loadgen:
                os.sched_setaffinity(0, cfg.layout.loadgen)
            log(f"emulator on {emu_port}, backend on {port}")
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

    log(f"direct: {cfg.sessions} sessions for {cfg.seconds} s")
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

    log("proxied warm-up session")
    warm = await run_phase(proxied_target, 1, 1.0, warmup_s=0.0, drain_timeout_s=5.0)
    errors.update({f"warm-up {k}": v for k, v in warm.errors.items()})
    if warm.chunks_received == 0:
        errors["warm-up: no echo through the backend"] += 1
    await backend_metrics(port)
    idle_rss = proc_rss_mb(backend_pid)

    log(f"proxied: {cfg.sessions} sessions for {cfg.seconds} s")
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
