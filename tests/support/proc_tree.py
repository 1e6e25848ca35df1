"""A process's descendants and whether they still run, from Linux's /proc; and whether a
port is free. For tests that check a process leaves nothing behind."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Proc:
    """One process, told apart from a later one with the same pid by its start time."""

    pid: int
    start: int
    cmdline: str

    def running(self) -> bool:
        """Still there and not a zombie (a reparented zombie waits for a reaper that may
        never come in a container, but it holds no port and runs nothing)."""
        stat = _stat(self.pid)
        return stat is not None and stat[2] == self.start and stat[0] != "Z"


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, start time) of `pid`, or None once it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name, in parentheses, may hold spaces: the fields after it are fixed.
    fields = raw[raw.rindex(")") + 2 :].split()
    return fields[0], int(fields[1]), int(fields[19])


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def descendants(root: int) -> list[Proc]:
    """Every process below `root` right now (children, their children, ...)."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit() and (stat := _stat(int(name))) is not None:
            children.setdefault(stat[1], []).append(int(name))
    found: list[Proc] = []
    todo = [root]
    while todo:
        for pid in children.get(todo.pop(), []):
            stat = _stat(pid)
            if stat is not None:
                found.append(Proc(pid, stat[2], _cmdline(pid)))
                todo.append(pid)
    return found


def environ(pid: int) -> dict[str, str]:
    """The environment `pid` was started with."""
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (item.decode(errors="replace").partition("=") for item in raw.split(b"\0") if item)
    return {key: value for key, _, value in pairs}


def port_free(port: int) -> bool:
    """Whether a server could bind 127.0.0.1:`port` now (as servers do, SO_REUSEADDR)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def poll(check: Callable[[], bool], timeout_s: float) -> bool:
    """Whether `check` became true within `timeout_s` (polled, never a fixed wait)."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def survivors(procs: Iterable[Proc]) -> list[str]:
    """The command lines of those still running."""
    return [f"{p.pid} {p.cmdline[:100]}" for p in procs if p.running()]
