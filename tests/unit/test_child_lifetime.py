"""Children that end with their parent, and SIGTERM taken as Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from liveavatar.child_lifetime import exit_with_parent, sigterm_as_interrupt
from tests.support.proc_tree import descendants, poll, survivors

REPO = Path(__file__).resolve().parents[2]

#: A parent that starts one long sleeper with `exit_with_parent()` and then waits.
PARENT = """
import subprocess, sys, time
from liveavatar.child_lifetime import exit_with_parent
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                 preexec_fn=exit_with_parent())
print("started", flush=True)
time.sleep(120)
"""


def test_sigterm_raises_keyboard_interrupt_within_the_block_only() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt), sigterm_as_interrupt():
        os.kill(os.getpid(), signal.SIGTERM)
        # The handler runs between bytecodes; this wait only gives it one.
        threading.Event().wait(5)
    assert signal.getsignal(signal.SIGTERM) is before


def test_off_the_main_thread_nothing_changes() -> None:
    seen: list[object] = []

    def off_main() -> None:
        seen.append(exit_with_parent())
        with sigterm_as_interrupt():
            seen.append(signal.getsignal(signal.SIGTERM))

    before = signal.getsignal(signal.SIGTERM)
    worker = threading.Thread(target=off_main)
    worker.start()
    worker.join()
    assert seen == [None, before]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_child_ends_when_its_parent_is_killed_outright() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert parent.stdout is not None
        assert parent.stdout.readline() == b"started\n"
        children = descendants(parent.pid)
        assert len(children) == 1
        parent.kill()
        parent.wait()
        assert poll(lambda: not survivors(children), 10.0), survivors(children)
    finally:
        if parent.poll() is None:
            os.killpg(parent.pid, signal.SIGKILL)
            parent.wait()
        assert parent.stdout is not None
        parent.stdout.close()
