"""Locust users that talk to the backend the way the page does: the browser protocol over
one WebSocket, microphone audio at real pace, replies read as they come.

    locust -f tests/load/locustfile.py --host ws://127.0.0.1:8080/ws \
        --script-host ws://127.0.0.1:8081/ws --script-users 2

`EchoTalker`s (the load) talk to a backend in front of the emulator's echo brain: every
40 ms frame comes straight back as model audio, so each frame's round trip is the latency
the backend and its Live hop add. `ScriptTalker`s (a few, `--script-users`) talk to a
backend in front of the script brain and hold spoken conversations: real speech, a real
answer, `turn_complete`. Both report custom metrics as locust requests (type `WS`):

- `connect`: socket open to `ready`;
- `echo round trip`: one audio frame's return through backend, emulator and back;
- `echo first audio`: a turn's first frame sent to its first echo;
- `echo turn`: a turn whose frames all came back (a failure names how many did not);
- `script first audio`: the user's last voiced 20 ms to the avatar's first audio (the
  emulator's voice detection may end the utterance before the quiet the page then sends);
- `script first audio (backend)`: the same, as the backend measured it (`metrics`);
- `script turn`: an utterance answered to its `turn_complete`.

Each user connects from its own loopback address (127.77.x.y), as distinct visitors do,
so the backend's per-address limits apply to each user on its own.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from bench._audio_markers import SeqTracker, chunk_markers, marker_chunk
from locust import User, between, events, task
from locust.env import Environment
from locust.exception import StopUser
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from tests.support.speech import chunks, silence, synthesize_pcm16

ORIGIN = Origin("http://localhost:8000")
FRAME_CHUNKS = 2  # 20 ms marker chunks per frame: 40 ms frames, as a page may send
FRAME_S = 0.02 * FRAME_CHUNKS
ECHO_TURN_S = 2.0
REPLY_LIMIT_S = 30.0
PHRASES = ("how are you", "tell me a joke", "what is your name")
VOICED = 1000  # a 20 ms chunk whose peak is over this is speech, not espeak's trailing quiet
_addresses = itertools.count()


def _options(parser: Any) -> None:
    parser.add_argument("--script-host", default="", help="backend in front of the script brain")
    parser.add_argument("--script-users", type=int, default=1, help="script talkers (fixed)")


def _configure(environment: Environment, **_: Any) -> None:
    options = environment.parsed_options
    ScriptTalker.fixed_count = options.script_users if options and options.script_host else 0


# locust leaves `add_listener` unannotated.
events.init_command_line_parser.add_listener(_options)  # type: ignore[no-untyped-call]
events.init.add_listener(_configure)  # type: ignore[no-untyped-call]


def peak(pcm: bytes) -> int:
    """The largest absolute sample of PCM16 LE audio."""
    samples = memoryview(pcm).cast("h")
    return max(max(samples), -min(samples)) if len(samples) else 0


def source_address() -> str:
    """A loopback address of its own for the next user (Linux answers on all of 127/8)."""
    n = next(_addresses)
    return f"127.77.{n // 250 % 250}.{n % 250 + 1}"


class Talker(User):
    """One page: connects, says `hello`, waits for `ready`, streams, says `bye` at the end."""

    abstract = True
    wait_time = between(0.2, 0.5)

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        self.ws: ClientConnection | None = None
        self.closed = threading.Event()
        self.leaving = False

    def url(self) -> str:
        return str(self.host)

    def record(
        self, name: str, seconds: float, *, length: int = 0, error: Exception | None = None
    ) -> None:
        self.environment.events.request.fire(
            request_type="WS",
            name=name,
            response_time=seconds * 1000,
            response_length=length,
            exception=error,
            context={},
        )

    def on_start(self) -> None:
        start = time.perf_counter()
        try:
            ws = connect(
                self.url(),
                origin=ORIGIN,
                compression=None,
                max_size=2**22,
                open_timeout=REPLY_LIMIT_S,
                source_address=(source_address(), 0),
            )
            ws.send(json.dumps({"type": "hello", "version": 1}))
            while True:
                frame = ws.recv(timeout=REPLY_LIMIT_S)
                if isinstance(frame, str) and json.loads(frame).get("type") == "ready":
                    break
        except Exception as exc:
            self.record("connect", time.perf_counter() - start, error=exc)
            raise StopUser from exc
        self.record("connect", time.perf_counter() - start)
        self.ws = ws
        threading.Thread(target=self._read, args=(ws,), daemon=True).start()

    def on_stop(self) -> None:
        self.leaving = True
        if self.ws is not None:
            with contextlib.suppress(ConnectionClosed):
                self.ws.send(json.dumps({"type": "bye"}))
            self.ws.close()

    def _read(self, ws: ClientConnection) -> None:
        try:
            for frame in ws:
                now = time.perf_counter()
                if isinstance(frame, bytes):
                    self.on_audio(frame, now)
                else:
                    self.on_event(json.loads(frame), now)
        except ConnectionClosed:
            pass
        finally:
            self.closed.set()
            if ws.close_code not in (1000, None) and not self.leaving:
                self.record("closed", 0, error=RuntimeError(f"closed {ws.close_code}"))

    def on_audio(self, frame: bytes, now: float) -> None:
        raise NotImplementedError

    def on_event(self, event: dict[str, Any], now: float) -> None:
        if event.get("type") == "error":
            self.record(
                "error", 0, error=RuntimeError(f"{event.get('code')}: {event.get('message')}")
            )

    def send_paced(self, frames: list[bytes], on_sent: Callable[[int, float], None]) -> None:
        """Send `frames` at real pace from a fixed schedule, so lateness never accumulates."""
        assert self.ws is not None
        start = time.perf_counter()
        sent_bytes = 0
        for i, frame in enumerate(frames):
            on_sent(i, time.perf_counter())
            self.ws.send(frame)
            sent_bytes += len(frame)
            delay = start + sent_bytes / 32_000 - time.perf_counter()
            if delay > 0:
                time.sleep(delay)


class EchoTalker(Talker):
    """Streams turns of marked audio to the echo brain and times each frame's return."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        self.lock = threading.Lock()
        self.tracker = SeqTracker()
        self.sent_at: dict[int, float] = {}
        self.sent = 0
        self.rx_bytes = 0
        self.half: int | None = None
        self.turn_first: float | None = None
        self.turn_first_echo: float | None = None
        self.turn_done = threading.Condition(self.lock)

    def on_audio(self, frame: bytes, now: float) -> None:
        markers, self.half = chunk_markers(frame, self.rx_bytes, self.half)
        self.rx_bytes += len(frame)
        with self.lock:
            sent_at: float | None = None
            for marker in markers:
                seq = self.tracker.match(marker, self.sent)
                at = None if seq is None else self.sent_at.pop(seq, None)
                sent_at = at if sent_at is None else sent_at
            if sent_at is not None:
                self.record("echo round trip", now - sent_at)
                if self.turn_first_echo is None:
                    self.turn_first_echo = now
            self.turn_done.notify_all()

    @task
    def talk(self) -> None:
        if self.ws is None or self.closed.is_set():
            raise StopUser
        base = self.sent
        count = int(ECHO_TURN_S / FRAME_S)
        frames = [
            b"".join(marker_chunk(base + i * FRAME_CHUNKS + k) for k in range(FRAME_CHUNKS))
            for i in range(count)
        ]
        with self.lock:
            self.turn_first_echo = None

        def sent(i: int, at: float) -> None:
            with self.lock:
                if i == 0:
                    self.turn_first = at
                for k in range(FRAME_CHUNKS):
                    self.sent_at[base + i * FRAME_CHUNKS + k] = at
                self.sent += FRAME_CHUNKS

        try:
            self.send_paced(frames, sent)
        except ConnectionClosed as exc:
            self.record("echo turn", 0, error=exc)
            return
        end = base + count * FRAME_CHUNKS
        with self.lock:
            answered = self.turn_done.wait_for(
                lambda: self.tracker.next >= end or self.closed.is_set(),
                timeout=REPLY_LIMIT_S,
            )
            first, echo = self.turn_first, self.turn_first_echo
            missing = max(0, end - self.tracker.next) + self.tracker.lost
            self.tracker.lost = 0
            self.sent_at.clear()
        if echo is not None and first is not None:
            self.record("echo first audio", echo - first)
        error = None if answered and missing == 0 else RuntimeError(f"{missing} chunks lost")
        self.record("echo turn", ECHO_TURN_S, length=count, error=error)


class ScriptTalker(Talker):
    """Speaks a phrase to the script brain and waits for the spoken answer to end."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        self.cond = threading.Condition()
        self.speech_end: float | None = None
        self.first_audio: float | None = None
        self.completed = 0
        self.phrases = itertools.cycle(PHRASES)

    def url(self) -> str:
        options = self.environment.parsed_options
        return str(options.script_host) if options else str(self.host)

    def _sent(self, i: int, at: float, last_voiced: int) -> None:
        if i == last_voiced:
            with self.cond:
                self.speech_end = at

    def on_audio(self, frame: bytes, now: float) -> None:
        with self.cond:
            if self.speech_end is not None and self.first_audio is None:
                self.first_audio = now

    def on_event(self, event: dict[str, Any], now: float) -> None:
        super().on_event(event, now)
        if event.get("type") == "metrics" and event.get("time_to_first_audio_ms") is not None:
            ms = float(event["time_to_first_audio_ms"])
            self.record("script first audio (backend)", ms / 1000)
        if event.get("type") == "turn_complete":
            with self.cond:
                self.completed += 1
                self.cond.notify_all()

    @task
    def talk(self) -> None:
        if self.ws is None or self.closed.is_set():
            raise StopUser
        speech = chunks(silence(300) + synthesize_pcm16(next(self.phrases)) + silence(1000), 20)
        last_voiced = max(i for i, c in enumerate(speech) if peak(c) > VOICED)
        with self.cond:
            self.speech_end, self.first_audio = None, None
            done = self.completed
        start = time.perf_counter()
        try:
            self.send_paced(speech, lambda i, at: self._sent(i, at, last_voiced))
        except ConnectionClosed as exc:
            self.record("script turn", 0, error=exc)
            return
        with self.cond:
            answered = self.cond.wait_for(
                lambda: self.completed > done or self.closed.is_set(), timeout=REPLY_LIMIT_S
            )
            speech_end, first_audio = self.speech_end, self.first_audio
        if answered and not self.closed.is_set():
            if first_audio is not None and speech_end is not None:
                self.record("script first audio", first_audio - speech_end)
            self.record("script turn", time.perf_counter() - start)
        else:
            self.record("script turn", REPLY_LIMIT_S, error=RuntimeError("no turn_complete"))
