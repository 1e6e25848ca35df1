"""One conversation across two instances: the instance serving a page is killed mid-answer
and the page continues on the other one, behind a real reverse proxy.

Two `liveavatar serve` processes share one store (one SQLite file, or the Firestore
emulator) and one Live emulator, behind HAProxy as Cloud Run's front end stands before its
instances (WebSocket upgrade, `X-Forwarded-For` appended, one trusted hop, a refused
backend retried on the other). Headless Chromium, its microphone a WAV file, talks through
the proxy. The instance holding the session is SIGKILLed while it speaks an answer; the
page reconnects through the proxy to the survivor, which finds the session in the store and
resumes the Live conversation from the stored handle: the model recalls what was said
before the kill, the page keeps its transcript, and every turn finished before the kill is
in the stored conversation, under the same session id.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import os
import re
import signal
import subprocess
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from bench._browser import (
    REPO,
    START_TIMEOUT_S,
    free_ports,
    http_ok,
    log_tail,
    origins,
    port_open,
    start_process,
    stop_process,
    wait_until,
)
from playwright.sync_api import expect

from liveavatar.store import DB_FILENAME, SQLiteStore, Store, TurnRecord
from liveavatar.store.firestore import FirestoreStore
from tests.e2e.avatar_page import OpenPage
from tests.integration.store.conftest import (  # noqa: F401 (a fixture, used by name)
    PROJECT,
    FirestoreEmulator,
    firestore_emulator,
)
from tests.support.reverse_proxy import ReverseProxy, haproxy

pytestmark = pytest.mark.slow

SAID = "my favourite colour is green"
LONG_ANSWER = "tell me a joke"
RECALL = "what did i say"
#: The page retries with backoff (0.5 s, 1 s, …); the proxy notices the dead instance at
#: once (a refused connection is retried on the other one).
RECONNECT_TIMEOUT_MS = 30_000
STORE_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class StoreChoice:
    """Where both instances keep their state, and how the test reads it back."""

    env: dict[str, str]
    open: Callable[[], Store]


class Cluster:
    """The Live emulator, two backends sharing one store, and the page's static server."""

    def __init__(self, workdir: Path, store: StoreChoice) -> None:
        self.workdir = workdir
        self.store = store
        self.emulator_port, self.frontend_port, *self.backend_ports = free_ports(4)
        self.cert_dir = workdir / "emulator"
        self.procs: list[subprocess.Popen[bytes]] = []
        self.backends: dict[int, subprocess.Popen[bytes]] = {}

    def _start(
        self, name: str, args: list[str], env: dict[str, str], ready: Callable[[], bool]
    ) -> subprocess.Popen[bytes]:
        log = self.workdir / f"{name}.log"
        proc = start_process(args, {"NO_GCE_CHECK": "true", **env}, log)
        self.procs.append(proc)
        try:
            wait_until(
                ready, timeout_s=START_TIMEOUT_S, what=name, alive=lambda: proc.poll() is None
            )
        except (TimeoutError, RuntimeError) as exc:
            raise RuntimeError(f"{exc}\n{log_tail(log)}") from exc
        return proc

    def start(self) -> None:
        port = self.emulator_port
        args = ["-m", "liveavatar", "emulator", "--port", str(port)]
        self._start(
            "emulator", [*args, "--cert-dir", str(self.cert_dir)], {}, lambda: port_open(port)
        )
        for port in self.backend_ports:
            env = {
                **self.store.env,
                "LIVE_BACKEND": "emulator",
                "VERTEX_AI_ENDPOINT": f"https://127.0.0.1:{self.emulator_port}",
                "LIVE_CA_FILE": str(self.cert_dir / "cert.pem"),
                "HOST": "127.0.0.1",
                "PORT": str(port),
                "ALLOWED_ORIGINS": origins(self.frontend_port),
                # The proxy appends the client's address; only the proxy's word is taken.
                "TRUSTED_PROXY_HOPS": "1",
                "TRUSTED_PROXIES": '["127.0.0.1"]',
                "SHUTDOWN_GRACE_S": "1",
            }
            healthz = f"http://127.0.0.1:{port}/healthz"
            args = ["-m", "liveavatar", "serve"]
            self.backends[port] = self._start(
                f"backend-{port}", args, env, functools.partial(http_ok, healthz)
            )
        args = ["-m", "http.server", "--bind", "127.0.0.1", str(self.frontend_port)]
        page_root = f"http://127.0.0.1:{self.frontend_port}/"
        self._start(
            "frontend",
            [*args, "--directory", str(REPO / "frontend")],
            {},
            lambda: http_ok(page_root),
        )

    def serving(self) -> int:
        """The port of the one backend with a browser session open."""
        busy = [port for port in self.backend_ports if active_sessions(port) > 0]
        assert len(busy) == 1, f"sessions open on {busy}"
        return busy[0]

    def kill(self, port: int) -> None:
        """SIGKILL: no teardown, no `going_away`, nothing flushed."""
        proc = self.backends.pop(port)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            stop_process(proc)


def active_sessions(port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    found = re.search(r"^liveavatar_active_sessions (\S+)$", text, re.MULTILINE)
    assert found is not None
    return float(found.group(1))


@pytest.fixture(params=["sqlite", "firestore"])
def store_choice(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> StoreChoice:
    data = tmp_path / "data"  # one data dir for both (the SQLite file; local media)
    if request.param == "sqlite":
        return StoreChoice({"DATA_DIR": str(data)}, lambda: SQLiteStore(data / DB_FILENAME))
    emulator: FirestoreEmulator = request.getfixturevalue("firestore_emulator")
    emulator.reset()
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", emulator.host)  # for the test's own reads
    env = {
        "DATA_DIR": str(data),
        "STORE_BACKEND": "firestore",
        "FIRESTORE_EMULATOR_HOST": emulator.host,
        "FIRESTORE_PROJECT": PROJECT,
    }
    return StoreChoice(env, lambda: FirestoreStore(project=PROJECT))


@pytest.fixture
def cluster(tmp_path: Path, store_choice: StoreChoice) -> Iterator[tuple[Cluster, ReverseProxy]]:
    started = Cluster(tmp_path, store_choice)
    try:
        started.start()
        with haproxy(started.backend_ports, tmp_path) as proxy:
            yield started, proxy
    finally:
        started.stop()


def stored_turns(store: StoreChoice, session_id: str) -> list[TurnRecord]:
    async def read() -> list[TurnRecord]:
        opened = store.open()
        try:
            return await opened.get_turns(session_id)
        finally:
            await opened.close()

    # Playwright's sync API runs its own loop in this thread: read from another one.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, read()).result()


def test_a_killed_instance_s_conversation_continues_on_the_other_one(
    cluster: tuple[Cluster, ReverseProxy], open_page: OpenPage
) -> None:
    pieces, proxy = cluster
    url = f"http://127.0.0.1:{pieces.frontend_port}/?autostart=1&avatar=drawn"
    page = open_page(f"{url}&backend={proxy.ws_url()}")
    page.wait_state("listening")
    page.wait_for("h.connected")
    session_id = page.hook("h.sessionId")

    page.testid("text-input").fill(SAID)
    page.testid("send").click()
    page.wait_event("turn_complete")
    serving = pieces.serving()

    completed = len(page.events("turn_complete"))
    page.reset_peaks()
    page.testid("text-input").fill(LONG_ANSWER)
    page.testid("send").click()
    page.wait_for_answer_audio()  # the instance is speaking its answer ...
    pieces.kill(serving)  # ... and dies mid-answer

    page.wait_for(
        "h.events.filter(e => e.type === 'ready').length === 2", timeout_ms=RECONNECT_TIMEOUT_MS
    )
    page.wait_for("h.connected && h.state === 'listening'")
    first, again = page.events("ready")
    assert again["session_id"] == first["session_id"] == session_id
    assert again["resumed"] is True
    (survivor,) = pieces.backends
    assert active_sessions(survivor) == 1
    expect(page.transcript("user").first).to_contain_text(SAID)  # the page kept its transcript

    completed = len(page.events("turn_complete"))
    page.testid("text-input").fill(RECALL)
    page.testid("send").click()
    page.wait_event("turn_complete", after=completed)
    # The Live conversation went on from the stored handle: the model recalls the turn
    # finished on the killed instance.
    expect(page.transcript("model").last).to_contain_text(re.compile(SAID, re.IGNORECASE))

    # Nothing finished is lost: the turn before the kill (stored by the killed instance)
    # and the one after it, numbered on, under the same id. The answer cut by the kill
    # never finished.
    wait_until(
        lambda: len(stored_turns(pieces.store, session_id)) >= 2,
        timeout_s=STORE_TIMEOUT_S,
        what="the turn after the kill in the store",
    )
    turns = stored_turns(pieces.store, session_id)
    assert [(t.index, t.user_text) for t in turns] == [(0, SAID), (1, RECALL)]
