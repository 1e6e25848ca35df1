"""The backend ends a browser socket itself at SOCKET_MAX_AGE_S, before the platform would
(Cloud Run's request timeout): close 4000 between turns, and the page resumes at once."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from liveavatar.emulator.server import EmulatorServer
from liveavatar.errors import CLOSE_RECONNECT, REASON_DRAINING, REASON_SOCKET_AGE
from tests.integration.server.conftest import Backend, StartBackend, backend_settings
from tests.integration.server.test_resumed_conversation import ended_sessions, stored
from tests.integration.server.test_session_ownership import KEY_A, hello, ready, talk
from tests.support.browser import EVENT_TIMEOUT_S, BrowserLog, browser, count

# The joke's answer is streamed at real time for seconds: the age limit falls inside it.
MAX_AGE_S = 0.5


def frame_kinds(log: BrowserLog) -> list[str]:
    return [f["type"] if isinstance(f, dict) else "audio" for f in log.frames]


async def test_an_old_socket_is_closed_after_the_turn_and_the_session_resumes(
    emulator: EmulatorServer, start_backend: StartBackend
) -> None:
    settings = backend_settings(emulator, socket_max_age_s=MAX_AGE_S, socket_close_wait_s=30.0)
    backend = await start_backend(settings)
    first = await renewed_or_closed(backend, "tell me a joke", browser_key=KEY_A)
    assert (first.close_code, first.close_reason) == (CLOSE_RECONNECT, REASON_SOCKET_AGE)
    kinds = frame_kinds(first)
    # Closed between turns: the answer ended first, whole, with its last audio sent.
    assert "interrupted" not in kinds
    assert kinds.index("turn_complete") < kinds.index("going_away")
    assert first.messages("going_away")[0]["reconnect_after_ms"] == 0
    assert "scarecrow" in first.final("model")[0]
    session_id = ready(first)["session_id"]

    again = await talk(backend, "thank you", browser_key=KEY_A, session_id=session_id)
    assert ready(again)["resumed"] is True and ready(again)["session_id"] == session_id
    # The page's transcript goes on: the resumed session's turns follow the first's.
    assert {m["turn"] for m in again.messages("transcript")} == {2}
    await ended_sessions(backend)
    conv, _ = await stored(settings, session_id)
    assert [m.text for m in conv.messages if m.role == "user"] == ["tell me a joke", "thank you"]
    assert conv.metrics.turns == 2


async def test_a_turn_longer_than_the_wait_is_cut_and_stored_once(
    emulator: EmulatorServer, start_backend: StartBackend
) -> None:
    settings = backend_settings(emulator, socket_max_age_s=MAX_AGE_S, socket_close_wait_s=0.2)
    backend = await start_backend(settings)
    first = await renewed_or_closed(backend, "tell me a joke", browser_key=KEY_A)
    assert first.close_code == CLOSE_RECONNECT
    assert "turn_complete" not in frame_kinds(first)
    session_id = ready(first)["session_id"]

    # Cut again (this backend renews every socket after half a second): stored once too.
    again = await renewed_or_closed(backend, "thank you", browser_key=KEY_A, session_id=session_id)
    assert ready(again)["resumed"] is True and again.close_code == CLOSE_RECONNECT
    await ended_sessions(backend)
    conv, _ = await stored(settings, session_id)
    assert [m.text for m in conv.messages if m.role == "user"] == ["tell me a joke", "thank you"]
    assert conv.metrics.turns == 2


async def test_shutdown_closes_every_socket_at_once_with_the_same_code(
    emulator: EmulatorServer, start_backend: StartBackend
) -> None:
    backend = await start_backend(backend_settings(emulator, socket_max_age_s=3600.0))
    async with (
        browser(backend.ws_url) as (ws_a, log_a),
        browser(backend.ws_url) as (ws_b, log_b),
    ):
        for ws, log in ((ws_a, log_a), (ws_b, log_b)):
            await log.wait_for(lambda log: count("ready")(log) == 1)
            await ws.send(json.dumps({"type": "text", "text": "tell me a joke"}))
        for log in (log_a, log_b):
            await log.wait_for(lambda log: len(log.audio()) > 0)
        await backend.stop()  # mid-answer: a draining instance does not wait for turns
        for log in (log_a, log_b):
            await log.wait_for(lambda log: log.close_code is not None)
    for log in (log_a, log_b):
        assert (log.close_code, log.close_reason) == (CLOSE_RECONNECT, REASON_DRAINING)
        assert "turn_complete" not in frame_kinds(log)
        assert log.messages("going_away")[0]["reconnect_after_ms"] == 0


async def renewed_or_closed(backend: Backend, text: str, **hello_fields: Any) -> BrowserLog:
    """One socket that types `text` at once and stays until the backend closes it."""
    async with browser(backend.ws_url, hello=hello(**hello_fields)) as (ws, log):
        await log.wait_for(lambda log: count("ready")(log) == 1)
        await ws.send(json.dumps({"type": "text", "text": text}))
        async with asyncio.timeout(EVENT_TIMEOUT_S), log.changed:
            await log.changed.wait_for(lambda: log.close_code is not None)
    return log
