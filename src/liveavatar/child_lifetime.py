"""Child processes that end with their parent.

`liveavatar up` and the benchmarks start servers as child processes. Whichever way the
parent ends, those children must end too, or they go on holding their ports:

- a normal exit or an exception runs the parent's `finally` blocks, which stop them;
- SIGTERM (`kill`, `kill -- -PGID`, a supervisor) would end Python at once, skipping
  those blocks: within `sigterm_as_interrupt()` it raises KeyboardInterrupt instead, the
  same clean way out as Ctrl-C;
- SIGKILL or a crash runs nothing: on Linux each child asks the kernel for SIGTERM when
  its parent dies (`exit_with_parent()`, PR_SET_PDEATHSIG) and stops cleanly on that.

The request is the parent's, made for each child it starts: a process never asks for it
for itself, so `nohup liveavatar up &` outlives the shell that started it, as it should.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator

#: From <linux/prctl.h>.
_PR_SET_PDEATHSIG = 1


def exit_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A `preexec_fn` (for `subprocess.Popen` or `asyncio.create_subprocess_exec`) with
    which the kernel sends `sig` to the child when this process dies; it survives `exec`.

    None where it cannot work: off Linux, or off the main thread (the kernel watches the
    thread that started the child, so a child started from a worker thread would get the
    signal as soon as that thread ends).
    """
    if not sys.platform.startswith("linux"):
        return None
    if threading.current_thread() is not threading.main_thread():
        return None
    # Looked up here, in the parent: between fork and exec the child only makes calls.
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, sig, 0, 0)
        # A parent that died before the request was made sends nothing: end now instead.
        if os.getppid() != parent:
            os._exit(1)

    return preexec


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block SIGTERM raises KeyboardInterrupt in the main thread, as Ctrl-C
    does, so `finally` blocks and context managers stop the children on the way out; the
    previous handler is back after it.

    Off the main thread it changes nothing: Python runs signal handlers there only.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        # None: a handler installed outside Python, which cannot be put back.
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
