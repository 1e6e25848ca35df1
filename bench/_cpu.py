"""CPU and memory of the benchmark's processes, from /proc, and which cores each may use."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


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
