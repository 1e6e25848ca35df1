"""Drive the real frontend in headless Chromium: the pieces the browser end-to-end tests and
`bench.browser_latency` share.

- `liveavatar_up()` runs `python -m liveavatar up` (emulator, backend, the static
  frontend server and the dashboard) as a child process on free ports and waits until it
  answers;
- `MicAudio` builds the fake microphone's WAV from spoken phrases and silences and
  remembers where each phrase's loud part starts and ends in the file;
- `launch_options()` gives Chromium the voice-stack flags (fake microphone from a WAV);
- `PROBE_SCRIPT` samples the page's output level and mouth openness every few ms.

Chromium reads the fake microphone's WAV from the command line, so a different WAV needs
a different browser process.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import wave
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from tests.support.speech import silence, synthesize_pcm16, trim

from liveavatar.child_lifetime import exit_with_parent

from ._percentiles import percentile

REPO = Path(__file__).resolve().parents[1]
#: Debian's chromium; Playwright's own browser builds are never downloaded here.
CHROMIUM = Path(os.environ.get("LIVEAVATAR_CHROMIUM", "/usr/bin/chromium"))
MIC_RATE = 16_000
#: Chromium's fake microphone starts the file when getUserMedia opens the device, which
#: happens after the page loaded its worklets; leading silence keeps the first word intact.
LEAD_MS = 1_000
START_TIMEOUT_S = 60.0


def free_ports(n: int) -> list[int]:
    """`n` distinct ports that were free a moment ago (all sockets held until all bound)."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(n):
            s = stack.enter_context(socket.socket())
            s.bind(("127.0.0.1", 0))
            ports.append(int(s.getsockname()[1]))
        return ports


def wait_until(
    check: Callable[[], bool],
    *,
    timeout_s: float,
    what: str,
    alive: Callable[[], bool] | None = None,
) -> None:
    """Poll `check` until it is true; fail after `timeout_s`, or at once when `alive()` is
    false (a child process that died will never become ready)."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if alive is not None and not alive():
            raise RuntimeError(f"gave up waiting for {what}: the process exited")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready within {timeout_s:.0f} s")
        time.sleep(0.05)


def http_ok(url: str) -> bool:
    """Whether GET `url` answers 200 right now."""
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:
            return int(resp.status) == 200
    except (OSError, urllib.error.URLError):
        return False


def port_open(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:`port`."""
    try:
        socket.create_connection(("127.0.0.1", port), 0.5).close()
    except OSError:
        return False
    return True


def summary(values: Sequence[float]) -> dict[str, float | int | None]:
    """p50/p95 (linear interpolation) rounded to 0.1 ms, and the count."""
    if not values:
        return {"p50": None, "p95": None, "n": 0}
    ordered = sorted(values)
    return {
        "p50": round(percentile(ordered, 0.5), 1),
        "p95": round(percentile(ordered, 0.95), 1),
        "n": len(ordered),
    }


# ---- processes ----------------------------------------------------------------------------


def start_process(args: Sequence[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start `python -m …` in the repository with output to `log` (never to our stdout).

    The child gets its own process group so that `stop_process` can also reach the
    grandchildren (`liveavatar up` runs the emulator as its child), and gets SIGTERM from
    the kernel if we die without stopping it (its own session is out of reach of a
    signal to our process group).
    """
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, *args],
            cwd=REPO,
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=exit_with_parent(),
        )


def stop_process(proc: subprocess.Popen[bytes], *, timeout_s: float = 15.0) -> None:
    """SIGTERM and wait; if that is not enough, SIGKILL the child's process group.

    A child that exits on SIGTERM has stopped its own children (`liveavatar up` terminates
    the emulator on the way out). The group is killed only while the child is not yet
    reaped, so its id (the child's pid) cannot have been reused by another process.
    """
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def log_tail(log: Path, lines: int = 30) -> str:
    """The end of a child's log, for error messages."""
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def origins(frontend_port: int, extra: Sequence[str] = ()) -> str:
    """ALLOWED_ORIGINS for a frontend on `frontend_port` and the `extra` origins (sites
    embedding the widget), as JSON (pydantic-settings parses it)."""
    local = [f"http://127.0.0.1:{frontend_port}", f"http://localhost:{frontend_port}"]
    return json.dumps([*local, *extra])


@dataclass(frozen=True)
class Stack:
    """A running emulator + backend + frontend, and how to reach them."""

    emulator_port: int
    backend_port: int
    frontend_port: int
    log: Path
    dashboard_port: int = 0

    @property
    def frontend_url(self) -> str:
        return f"http://127.0.0.1:{self.frontend_port}/"

    @property
    def dashboard_url(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}/"

    @property
    def backend_ws(self) -> str:
        return f"ws://127.0.0.1:{self.backend_port}/ws"

    def page_url(self, **query: str) -> str:
        """The page, started without a click, with the drawn avatar, on this backend."""
        params = {"autostart": "1", "avatar": "drawn", "backend": self.backend_ws, **query}
        return f"{self.frontend_url}?{urlencode(params)}"


def stack_env(
    workdir: Path,
    emulator_port: int,
    backend_port: int,
    frontend_port: int,
    dashboard_port: int = 0,
    extra_origins: Sequence[str] = (),
) -> dict[str, str]:
    """Environment of `liveavatar up` on the given ports with its state under `workdir`;
    `extra_origins` are allowed beside the frontend's."""
    dashboard_port = dashboard_port or free_ports(1)[0]
    return {
        "HOST": "127.0.0.1",
        "EMULATOR_PORT": str(emulator_port),
        "PORT": str(backend_port),
        "FRONTEND_PORT": str(frontend_port),
        "DASHBOARD_PORT": str(dashboard_port),
        # The page's Dashboard link leads to this stack's dashboard.
        "DASHBOARD_URL": f"http://127.0.0.1:{dashboard_port}/",
        # The dashboard reads active sessions from this backend's /metrics.
        "BACKEND_URL": f"ws://127.0.0.1:{backend_port}/ws",
        "EMULATOR_CERT_DIR": str(workdir / "emulator"),
        "DATA_DIR": str(workdir / "data"),
        # Recordings and clips under the workdir, never in the checkout (the default is
        # relative to the working directory, which is the repository).
        "MEDIA_DIR": str(workdir / "media"),
        "NO_GCE_CHECK": "true",
        "ALLOWED_ORIGINS": origins(frontend_port, extra_origins),
        "SHUTDOWN_GRACE_S": "1",
    }


@contextlib.contextmanager
def liveavatar_up(
    workdir: Path,
    *,
    timeout_s: float = START_TIMEOUT_S,
    env: Mapping[str, str] | None = None,
    dashboard: bool = False,
    extra_origins: Sequence[str] = (),
    ports: Sequence[int] | None = None,
) -> Iterator[Stack]:
    """Run `python -m liveavatar up` on free ports until the block ends.

    `env` adds to (or overrides) the stack's environment; with `dashboard` the stack is
    ready only once the dashboard answers its health check too (`up` announces it apart);
    `extra_origins` are sites allowed beside the frontend (ALLOWED_ORIGINS); `ports`
    (emulator, backend, frontend, dashboard) when the caller needed them first.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    emulator_port, backend_port, frontend_port, dashboard_port = ports or free_ports(4)
    stack = Stack(
        emulator_port, backend_port, frontend_port, workdir / "liveavatar-up.log", dashboard_port
    )
    ports = (emulator_port, backend_port, frontend_port, dashboard_port)
    full_env = {**stack_env(workdir, *ports, extra_origins=extra_origins), **(env or {})}
    proc = start_process(["-m", "liveavatar", "up"], full_env, stack.log)
    try:
        try:
            wait_until(
                lambda: (
                    http_ok(f"http://127.0.0.1:{backend_port}/healthz")
                    and http_ok(stack.frontend_url)
                    and (not dashboard or http_ok(f"{stack.dashboard_url}_stcore/health"))
                ),
                timeout_s=timeout_s,
                what="liveavatar up",
                alive=lambda: proc.poll() is None,
            )
        except (TimeoutError, RuntimeError) as exc:
            raise RuntimeError(f"{exc}\n--- log ---\n{log_tail(stack.log)}") from exc
        yield stack
    finally:
        stop_process(proc)


# ---- the fake microphone -------------------------------------------------------------------


@dataclass(frozen=True)
class Phrase:
    """One spoken phrase in the WAV: its text and its loud part, in ms from the file start."""

    text: str
    start_ms: float
    end_ms: float


@dataclass
class MicAudio:
    """16 kHz PCM16 mono audio for the fake microphone, built from phrases and silences."""

    pcm: bytearray = field(default_factory=bytearray)
    phrases: list[Phrase] = field(default_factory=list)
    #: Speaks a phrase as 16 kHz PCM16; espeak-ng's en-us+klatt4 unless told
    #: (`bench.browser_latency --voice piper` gives Piper's neural voice, bench/_speech.py).
    speak: Callable[[str], bytes] = synthesize_pcm16

    @property
    def duration_ms(self) -> float:
        return len(self.pcm) / 2 * 1000 / MIC_RATE

    def pause(self, ms: float) -> MicAudio:
        """Append `ms` of digital silence."""
        self.pcm += silence(round(ms))
        return self

    def say(self, text: str) -> MicAudio:
        """Append `speak(text)`, trimmed to its loud part.

        Trimmed, so the phrase's recorded end is the true end of speech rather than the
        end of the voice's trailing silence.
        """
        speech = trim(self.speak(text))
        start = self.duration_ms
        self.pcm += speech
        self.phrases.append(Phrase(text, start, self.duration_ms))
        return self

    def pad_to(self, ms: float) -> MicAudio:
        """Append silence until the audio is `ms` long (no-op when it already is)."""
        if ms > self.duration_ms:
            self.pause(ms - self.duration_ms)
        return self

    def write(self, path: Path) -> Path:
        """Write a 16-bit mono WAV (the format Chromium's fake device reliably plays)."""
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(MIC_RATE)
            w.writeframes(bytes(self.pcm))
        return path


def mic_audio(*items: str | float, lead_ms: float = LEAD_MS, tail_ms: float = 1_000) -> MicAudio:
    """Lead silence, then each item (text is spoken, a number is a pause in ms), then a tail."""
    audio = MicAudio().pause(lead_ms)
    for item in items:
        if isinstance(item, str):
            audio.say(item)
        else:
            audio.pause(item)
    return audio.pause(tail_ms)


# ---- Chromium --------------------------------------------------------------------------------


def chromium_args(wav: Path | None, *, grant_mic: bool = True) -> list[str]:
    """The voice-stack flags; `wav` is the fake microphone, `grant_mic` auto-accepts it."""
    args = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--autoplay-policy=no-user-gesture-required",
        "--use-fake-device-for-media-stream",
    ]
    if grant_mic:
        args.append("--use-fake-ui-for-media-stream")
    if wav is not None:
        # %noloop: without it the file repeats and every phrase is said again.
        args.append(f"--use-file-for-fake-audio-capture={wav.resolve()}%noloop")
    return args


def launch_options(wav: Path | None, *, grant_mic: bool = True) -> dict[str, Any]:
    """Keyword arguments for `playwright.chromium.launch`."""
    return {
        "executable_path": str(CHROMIUM),
        "headless": True,
        "args": chromium_args(wav, grant_mic=grant_mic),
        # Playwright mutes audio by default; the tests want the real output path.
        "ignore_default_args": ["--mute-audio"],
    }


#: Installed with `add_init_script`: samples `window.__liveavatar` every 5 ms into
#: `window.__probe` = {t: [], level: [], mouth: [], speaking: []} (t is performance.now()),
#: and keeps two peaks that a test can wait on without racing a short answer:
#: `peakSpeakingLevel` (highest outputLevel() seen while the state was `speaking`) and
#: `peakMouth` (highest mouthOpenness()). A 5 ms timer rather than requestAnimationFrame,
#: whose 16.7 ms period would blur the onsets the benchmark times.
PROBE_SCRIPT = """
(() => {
  const probe = { t: [], level: [], mouth: [], speaking: [], peakSpeakingLevel: 0, peakMouth: 0 };
  window.__probe = probe;
  setInterval(() => {
    const h = window.__liveavatar;
    if (!h || typeof h.outputLevel !== 'function') return;
    const level = h.outputLevel();
    const mouth = h.mouthOpenness();
    const speaking = h.state === 'speaking';
    probe.t.push(performance.now());
    probe.level.push(level);
    probe.mouth.push(mouth);
    probe.speaking.push(speaking ? 1 : 0);
    if (speaking && level > probe.peakSpeakingLevel) probe.peakSpeakingLevel = level;
    if (mouth > probe.peakMouth) probe.peakMouth = mouth;
  }, 5);
})();
"""
