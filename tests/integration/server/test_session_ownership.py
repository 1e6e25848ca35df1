"""A session belongs to whoever opened it: nobody else resumes it, and logs never name it."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from liveavatar.bridge.ids import is_session_id, log_ref
from liveavatar.emulator.server import EmulatorServer
from liveavatar.log import CloudJsonFormatter
from liveavatar.settings import Settings
from liveavatar.store import DB_FILENAME, SQLiteStore
from tests.integration.server.conftest import Backend, StartBackend, backend_settings
from tests.support.auth_certs import PROJECT, CertsServer, SigningKeys
from tests.support.browser import BrowserLog, browser, count

KEY_A = "a" * 32
KEY_B = "b" * 32


@pytest.fixture
def certs() -> Iterator[CertsServer]:
    server = CertsServer(SigningKeys()).start()
    yield server
    server.stop()


def hello(**fields: Any) -> dict[str, Any]:
    return {"type": "hello", "version": 1, **{k: v for k, v in fields.items() if v is not None}}


async def talk(backend: Backend, text: str, **hello_fields: Any) -> BrowserLog:
    """One session that types `text`, hears the answer, and hangs up like the page."""
    async with browser(backend.ws_url, hello=hello(**hello_fields)) as (ws, log):
        await log.wait_for(lambda log: count("ready")(log) == 1)
        await ws.send(json.dumps({"type": "text", "text": text}))
        await log.wait_for(lambda log: count("turn_complete")(log) == 1)
        await ws.send(json.dumps({"type": "bye"}))
        await ws.close(1000, "bye")
    return log


def ready(log: BrowserLog) -> dict[str, Any]:
    return log.messages("ready")[0]


async def user_texts(settings: Settings, conversation_id: str, turns: int = 1) -> list[str]:
    """The conversation's user lines once at least `turns` are stored (bounded wait): the
    page has hung up, but the session's teardown may still be writing its last turn."""
    store = SQLiteStore(Path(settings.data_dir) / DB_FILENAME)
    texts: list[str] = []
    try:
        async with asyncio.timeout(10):
            while True:
                conv = await store.get_conversation(conversation_id)
                texts = [m.text for m in conv.messages if m.role == "user"] if conv else []
                if len(texts) >= turns:
                    return texts
                await asyncio.sleep(0.05)
    except TimeoutError:
        return texts
    finally:
        await store.close()


async def test_another_user_cannot_resume_a_session(
    emulator: EmulatorServer,
    start_backend: StartBackend,
    certs: CertsServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = backend_settings(
        emulator,
        auth_enabled=True,
        firebase_project_id=PROJECT,
        firebase_certs_url=certs.url("/x509"),
    )
    backend = await start_backend(settings)
    alice = certs.keys.firebase_token(sub="alice", email="alice@example.com")
    bob = certs.keys.firebase_token(sub="bob", email="bob@example.com")

    first = await talk(backend, "tell me a joke", token=alice)
    alice_id = ready(first)["session_id"]
    assert is_session_id(alice_id)

    with caplog.at_level(logging.INFO):
        taken = await talk(backend, "how are you", token=bob, session_id=alice_id)
    # Bob gets a fresh session of his own and hears nothing of Alice's.
    assert not ready(taken)["resumed"]
    assert ready(taken)["session_id"] != alice_id
    assert "scarecrow" not in " ".join(taken.final("model"))
    assert await user_texts(settings, alice_id) == ["tell me a joke"]
    assert await user_texts(settings, ready(taken)["session_id"]) == ["how are you"]
    refused = [r for r in caplog.records if "resume refused" in r.getMessage()]
    assert len(refused) == 1
    assert getattr(refused[0], "requested", None) == log_ref(alice_id)

    # Alice herself resumes it, from any device she signs in on.
    again = await talk(backend, "what did i say", token=alice, session_id=alice_id)
    assert ready(again)["resumed"]
    assert ready(again)["session_id"] == alice_id
    assert await user_texts(settings, alice_id, 2) == ["tell me a joke", "what did i say"]


async def test_anonymous_sessions_are_bound_to_their_browser(
    emulator: EmulatorServer, start_backend: StartBackend
) -> None:
    settings = backend_settings(emulator)  # sign-in off: everyone here shares one address
    backend = await start_backend(settings)
    first = await talk(backend, "tell me a joke", browser_key=KEY_A)
    session_id = ready(first)["session_id"]

    other_browser = await talk(backend, "how are you", browser_key=KEY_B, session_id=session_id)
    no_key = await talk(backend, "how are you", session_id=session_id)
    for log in (other_browser, no_key):
        assert not ready(log)["resumed"]
        assert ready(log)["session_id"] != session_id

    same_browser = await talk(backend, "thank you", browser_key=KEY_A, session_id=session_id)
    assert ready(same_browser)["resumed"]
    assert await user_texts(settings, session_id, 2) == ["tell me a joke", "thank you"]


async def test_made_up_and_malformed_session_ids_start_fresh(
    emulator: EmulatorServer, start_backend: StartBackend
) -> None:
    backend = await start_backend(backend_settings(emulator))
    for made_up in ("s-" + "A" * 22, "../../etc/passwd", "s-short", "x" * 64):
        async with browser(backend.ws_url, hello=hello(session_id=made_up)) as (_ws, log):
            await log.wait_for(lambda log: count("ready")(log) == 1)
        assert not ready(log)["resumed"]
        assert ready(log)["session_id"] != made_up


class JsonLines(logging.Handler):
    """The backend's log lines as the product writes them (formatted when emitted, in the
    session's context, as on Cloud Run)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(CloudJsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        # The backend's own lines and its server's (the emulator's websockets lines are not).
        if record.name.startswith(("liveavatar", "uvicorn")):
            self.lines.append(self.format(record))


async def test_session_ids_are_unguessable_and_never_logged(
    emulator: EmulatorServer, start_backend: StartBackend
) -> None:
    backend = await start_backend(backend_settings(emulator, max_sessions_per_user=10))
    handler = JsonLines()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)  # the level the backend runs at
    try:
        logs = [await talk(backend, "how are you", browser_key=KEY_A) for _ in range(3)]
        ids = [ready(log)["session_id"] for log in logs]
        # A reconnect that resumes logs as much again.
        await talk(backend, "thank you", browser_key=KEY_A, session_id=ids[0])
        sessions = list(backend.state.sessions)
        if sessions:  # let the last teardown log its line
            await asyncio.wait(sessions, timeout=20)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    assert len(set(ids)) == 3 and all(is_session_id(i) for i in ids)
    refs = [json.loads(line).get("session_id") for line in handler.lines]
    assert refs.count(log_ref(ids[0])) >= 4  # ready and closed, twice
    for session_id in ids:
        assert not [line for line in handler.lines if session_id in line]


async def test_resuming_a_session_still_open_takes_it_over(
    emulator: EmulatorServer, start_backend: StartBackend
) -> None:
    """A page whose network dropped reconnects before the backend noticed: the newer
    connection takes the conversation over, and both connections' turns are kept."""
    settings = backend_settings(emulator)
    backend = await start_backend(settings)
    async with browser(backend.ws_url, hello=hello(browser_key=KEY_A)) as (ws, old):
        await old.wait_for(lambda log: count("ready")(log) == 1)
        session_id = ready(old)["session_id"]
        await ws.send(json.dumps({"type": "text", "text": "tell me a joke"}))
        await old.wait_for(lambda log: len(log.audio()) > 0)  # answering when the "drop" hits
        new = await talk(backend, "thank you", browser_key=KEY_A, session_id=session_id)
        await old.wait_for(lambda log: log.close_code is not None)
    assert ready(new)["resumed"] and ready(new)["session_id"] == session_id
    assert old.close_code == 4409
    assert old.messages("error")[-1]["code"] == "session_replaced"
    assert await user_texts(settings, session_id, 2) == ["tell me a joke", "thank you"]
    store = SQLiteStore(Path(settings.data_dir) / DB_FILENAME)
    try:
        conv = await store.get_conversation(session_id)
    finally:
        await store.close()
    assert conv is not None
    # The cut turn of the old connection, then the new one's: numbered apart, both kept.
    assert [m.turn_index for m in conv.messages if m.role == "user"] == [0, 1]
    assert conv.metrics.turns == 2 and conv.metrics.interrupted_turns == 1
