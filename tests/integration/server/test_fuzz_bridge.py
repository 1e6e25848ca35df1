"""Hostile conversations against a live bridge (hypothesis; profiles in tests/support/fuzz.py).

A real backend in front of the emulator, each on a free port, runs on a loop of its own.
Each example opens a socket and sends a drawn conversation: a valid `hello` or a hostile
first frame, then random and mutated frames (text, binary, invalid UTF-8, floods of tiny
frames, `hello` twice, audio after `bye`...). Each is answered with typed messages and, if
it ends, a documented close code; the session still answers a `ping` or has closed, its
teardown finishes, and the backend logs no error. Meanwhile a healthy neighbour talks
throughout: every answer arrives whole (its audio byte for byte) with no error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import socket
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import TypeAdapter
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from liveavatar import protocol as p
from liveavatar.emulator.config import EmulatorConfig, FaultConfig
from liveavatar.emulator.server import EmulatorServer
from liveavatar.emulator.stt import RecognizerPool
from liveavatar.emulator.tts import Synthesizer, voice_for
from liveavatar.errors import (
    CLOSE_BAD_REQUEST,
    CLOSE_NORMAL,
    CLOSE_TOO_BIG,
    CLOSE_UNSUPPORTED_VERSION,
)
from liveavatar.server.app import AppState, create_app
from liveavatar.server.runner import GracefulServer, uvicorn_config
from liveavatar.server.security import API_CSP
from tests.integration.server.conftest import backend_settings
from tests.support.browser import BrowserLog, browser, count, stream_pcm
from tests.support.fuzz import SCALE, examples
from tests.support.hostile import (
    Flood,
    Frame,
    InvalidUtf8,
    RawFrame,
    audio_frames,
    frames,
    invalid_utf8,
    raw_frames,
    text_frames,
    weighted,
)
from tests.support.loop_thread import LoopThread
from tests.support.speech import silence
from tests.support.uvicorn_server import wait_started

# What a hostile conversation may end with (docs/API.md, "Close codes"); 1002 and 1007
# are the WebSocket layer refusing a frame that breaks its protocol or a text frame that
# is not UTF-8. That layer closes the connection at once: a client still sending may see
# it drop (1006) instead.
CLOSE_PROTOCOL = 1002
CLOSE_NOT_UTF8 = 1007
CLOSE_DROPPED = 1006
LAYER_CLOSES = {CLOSE_PROTOCOL, CLOSE_NOT_UTF8, CLOSE_TOO_BIG}
DOCUMENTED_CLOSES = {
    CLOSE_NORMAL,
    CLOSE_PROTOCOL,
    CLOSE_NOT_UTF8,
    CLOSE_TOO_BIG,
    CLOSE_BAD_REQUEST,
    CLOSE_UNSUPPORTED_VERSION,
}
FATAL_CLOSE = {"bad_request": CLOSE_BAD_REQUEST, "unsupported_version": CLOSE_UNSUPPORTED_VERSION}
EXAMPLE_LIMIT_S = 60.0  # a conversation not settled by then hangs
PROBE_WAIT_S = 1.0  # one unanswered probe may have been dropped by the flood gate
QUESTION = "what is your name"
_SENTENCE = re.compile(r"(?<=[.!?])\s+")  # the emulator speaks an answer sentence by sentence

server_message: TypeAdapter[p.ServerMessage] = TypeAdapter(p.ServerMessage)


@dataclass(frozen=True)
class Conversation:
    opening: Frame | None  # None: a valid hello
    steps: Sequence[Frame]


conversations = st.builds(
    Conversation,
    # Mostly a valid hello: most of what a session can be sent comes after it.
    opening=weighted(
        (6, st.none()), (1, text_frames()), (1, audio_frames()), (1, invalid_utf8), (1, raw_frames)
    ),
    steps=st.lists(frames(), max_size=6),
)


@dataclass
class Neighbour:
    """A well-behaved page talking throughout: a live microphone and one question at a time."""

    log: BrowserLog = field(default_factory=BrowserLog)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    answered: asyncio.Event = field(default_factory=asyncio.Event)  # its first answer
    turns: int = 0


@dataclass
class Harness:
    server: LoopThread
    client: LoopThread
    backend_state: AppState
    ws_url: str
    neighbour: Neighbour
    neighbour_task: asyncio.Task[None]
    neighbour_sessions: set[asyncio.Task[None]]  # its session on the backend


async def send(ws: ClientConnection, frame: Frame) -> None:
    if isinstance(frame, RawFrame):
        ws.transport.write(frame.data)
    elif isinstance(frame, InvalidUtf8):
        await ws.send(frame.payload, text=True)
    elif isinstance(frame, Flood):
        for _ in range(frame.count):
            await ws.send(frame.frame)
    else:
        await ws.send(frame)


async def settle(ws: ClientConnection, log: BrowserLog) -> None:
    """Wait until the session answers a probe `ping` or has closed.

    The probe is sent again while unanswered: after a flood the gate may drop it.
    """
    sent: set[float] = set()
    while True:
        t = -7.25 - len(sent)
        sent.add(t)
        with contextlib.suppress(ConnectionClosed):
            await ws.send(json.dumps({"type": "ping", "t": t}))
        with contextlib.suppress(TimeoutError):
            await log.wait_for(
                lambda log: (
                    log.close_code is not None or any(m["t"] in sent for m in log.messages("pong"))
                ),
                limit_s=PROBE_WAIT_S,
            )
            return


async def converse(url: str, conversation: Conversation) -> tuple[BrowserLog, int | None]:
    """The browser's record of one hostile conversation, and how the server closed it
    (None: still open when the conversation was over)."""
    hello: dict[str, Any] | None = {} if conversation.opening is not None else None
    async with browser(url, hello=hello) as (ws, log):
        try:
            if conversation.opening is not None:
                await send(ws, conversation.opening)
            for step in conversation.steps:
                await send(ws, step)
        except ConnectionClosed:
            pass  # the server ended it: what it said and its code are checked
        await settle(ws, log)
        closed_by_server = log.close_code
    return log, closed_by_server


def check_answers(conversation: Conversation, log: BrowserLog, close_code: int | None) -> None:
    if close_code == CLOSE_DROPPED:
        sent = [conversation.opening, *conversation.steps]
        refused = [f for f in sent if isinstance(f, InvalidUtf8 | RawFrame)]
        assert any(getattr(f, "violation", True) for f in refused), "dropped without cause"
        close_code = CLOSE_PROTOCOL
    for frame in log.frames:
        if isinstance(frame, dict):
            server_message.validate_python(frame)  # every message is one of the documented
    errors = log.messages("error")
    assert {e["code"] for e in errors} <= set(FATAL_CLOSE), errors
    assert close_code is None or close_code in DOCUMENTED_CLOSES, (close_code, errors)
    fatal = [e for e in errors if e["fatal"]]
    if fatal:
        assert len(fatal) == 1 and errors[-1] is fatal[0], errors
        assert close_code == FATAL_CLOSE[fatal[0]["code"]], (close_code, fatal)
    elif close_code not in {None, CLOSE_NORMAL} | LAYER_CLOSES:
        raise AssertionError(f"closed {close_code} without saying why")


def troubles(records: list[logging.LogRecord]) -> list[str]:
    """Log lines that mean a bug: any error, or a stack trace from our code."""
    return [
        f"{r.name}: {r.getMessage()}"
        for r in records
        if r.levelno >= logging.ERROR or (r.exc_info and r.name.startswith("liveavatar"))
    ]


def turns_complete(n: int) -> Callable[[BrowserLog], bool]:
    return lambda log: count("turn_complete")(log) >= n


async def talk_throughout(url: str, neighbour: Neighbour) -> None:
    async def microphone(ws: ClientConnection) -> None:
        while not neighbour.stop.is_set():
            await stream_pcm(ws, silence(500))

    async with browser(url) as (ws, log):
        neighbour.log = log
        await log.wait_for(lambda log: count("ready")(log) == 1)
        mic = asyncio.create_task(microphone(ws), name="neighbour-mic")
        try:
            while not neighbour.stop.is_set():
                await ws.send(json.dumps({"type": "text", "text": QUESTION}))
                await log.wait_for(turns_complete(neighbour.turns + 1))
                neighbour.turns += 1
                neighbour.answered.set()
        finally:
            neighbour.stop.set()
            await mic
        # Audio may trail its turn_complete (control overtakes audio): all of it arrives.
        expected = await spoken_bytes(log.final("model"), log.messages("ready")[0]["voice"])
        await log.wait_for(lambda log: len(log.audio()) >= expected)
        assert len(log.audio()) == expected


async def spoken_bytes(answers: list[str], voice: str) -> int:
    """How much 24 kHz audio the emulator speaks for these answers."""
    synth = Synthesizer()
    total = 0
    for answer in answers:
        for sentence in (s for s in _SENTENCE.split(answer.strip()) if s):
            total += len(await synth.synthesize(sentence, voice_for(voice)))
    return total


async def sessions_drained(state: AppState, neighbours: set[asyncio.Task[None]]) -> None:
    """Wait until every session but the neighbour's has ended, teardown and all."""
    others = state.sessions - neighbours
    if others:
        await asyncio.wait(others)


@pytest.fixture
def harness(
    recognizers: RecognizerPool, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Harness]:
    server, client = LoopThread("fuzz-server"), LoopThread("fuzz-client")
    cert_dir = tmp_path_factory.mktemp("fuzz-cert")

    stack = contextlib.AsyncExitStack()

    async def start() -> tuple[AppState, str]:
        emulator = EmulatorServer(
            EmulatorConfig(port=0, cert_dir=cert_dir, faults=FaultConfig()), recognizers=recognizers
        )
        await emulator.start()
        stack.push_async_callback(emulator.close)
        settings = backend_settings(
            emulator,
            rate_limit_connections=1_000_000,
            max_sessions_per_user=1_000,
            quota_minutes_per_day=None,
        )
        sock = stack.enter_context(socket.socket())
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        app = create_app(settings)
        backend = GracefulServer(uvicorn_config(app, settings, port=port), app)
        backend.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
        serving = asyncio.create_task(backend.serve(sockets=[sock]), name="fuzz-backend")

        async def stop() -> None:
            backend.should_exit = True
            await serving

        stack.push_async_callback(stop)
        await wait_started(backend, serving)
        state = app.state.live
        assert isinstance(state, AppState)
        return state, f"ws://127.0.0.1:{port}/ws"

    state, url = server.run(start(), 60)
    neighbour = Neighbour()

    async def spawn() -> asyncio.Task[None]:
        task = asyncio.create_task(talk_throughout(url, neighbour), name="neighbour")
        answered = asyncio.create_task(neighbour.answered.wait())
        await asyncio.wait([task, answered], timeout=30, return_when=asyncio.FIRST_COMPLETED)
        answered.cancel()
        assert neighbour.answered.is_set(), "the neighbour never got its first answer"
        return task

    task = client.run(spawn(), 60)
    neighbour_sessions = set(state.sessions)  # only the neighbour is connected yet
    try:
        yield Harness(server, client, state, url, neighbour, task, neighbour_sessions)
    finally:
        client.close()
        server.run(stack.aclose(), 60)
        server.close()


@pytest.mark.slow
@pytest.mark.timeout(300 * SCALE)  # the long profile checks SCALE times more
# The emulator and the servers use `random` on their own threads while hypothesis draws
# the next example; hypothesis would take that for a strategy using `random`.
@pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies")
def test_hostile_conversations_get_typed_answers_while_a_neighbour_talks(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)

    hello = json.dumps({"type": "hello", "version": 1})
    bye = json.dumps({"type": "bye"})
    audio = b"\x00" * 640

    @examples(120)
    @given(conversations)
    @example(Conversation(audio, [hello]))  # audio before hello
    @example(Conversation(None, [hello, audio]))  # hello twice
    @example(Conversation(None, [bye, audio, hello]))  # bye, then audio
    @example(Conversation(None, [audio[:-1]] * 3 + [Flood(b"\x00", 30)]))  # odd-length audio
    def hostile(conversation: Conversation) -> None:
        seen = len(caplog.records)
        log, close_code = harness.client.run(
            converse(harness.ws_url, conversation), EXAMPLE_LIMIT_S
        )
        check_answers(conversation, log, close_code)
        # Every session but the neighbour's ends, teardown and all.
        harness.server.run(
            sessions_drained(harness.backend_state, harness.neighbour_sessions), EXAMPLE_LIMIT_S
        )
        assert troubles(caplog.records[seen:]) == []

    hostile()

    async def stop_neighbour() -> None:
        harness.neighbour.stop.set()
        await harness.neighbour_task

    harness.client.run(stop_neighbour(), EXAMPLE_LIMIT_S)
    # The HTTP edge came through it too: health, its strict headers, no internal error.
    http_url = harness.ws_url.replace("ws://", "http://").removesuffix("/ws")
    with httpx.Client(base_url=http_url) as http:
        health = http.get("/healthz")
        metrics = http.get("/metrics").text
    assert health.status_code == 200
    assert health.headers["content-security-policy"] == API_CSP
    assert health.headers["x-frame-options"] == "DENY"
    assert 'liveavatar_errors_total{kind="internal"}' not in metrics
    assert 'liveavatar_errors_total{kind="bad_request"}' in metrics
    neighbour = harness.neighbour
    assert neighbour.turns >= 2
    assert neighbour.log.messages("error") == [] and neighbour.log.messages("interrupted") == []
    assert neighbour.log.close_code is None
    assert troubles(caplog.records) == []
