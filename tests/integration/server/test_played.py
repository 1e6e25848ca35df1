"""Through the real backend and emulator: the page's `played` report of what was heard of
an answer is stored with that turn as a prefix of the generated text, a malformed one is
answered `bad_request`, and one about a turn the session does not know is dropped."""

from __future__ import annotations

import json

from liveavatar.emulator.server import EmulatorServer
from tests.integration.server.conftest import StartBackend, backend_settings
from tests.support.browser import browser, count

from .test_session_endings import _sessions_ended


async def test_what_was_heard_of_an_answer_is_stored_with_its_turn(
    emulator: EmulatorServer, start_backend: StartBackend
) -> None:
    backend = await start_backend(backend_settings(emulator))
    async with browser(backend.ws_url) as (ws, log):
        await ws.send(json.dumps({"type": "text", "text": "tell me a joke"}))
        await log.wait_for(lambda log: count("metrics")(log) >= 1)
        turn = log.messages("turn_complete")[0]["turn"]
        # Text from the page is never taken: a report that carries any is refused.
        await ws.send(json.dumps({"type": "played", "turn": turn, "words": 3, "text": "no"}))
        await ws.send(json.dumps({"type": "played", "turn": turn, "words": 3.0}))
        await log.wait_for(lambda log: count("error")(log) >= 2)
        assert {e["code"] for e in log.messages("error")} == {"bad_request"}
        await ws.send(json.dumps({"type": "played", "turn": turn + 7, "words": 1}))
        await ws.send(json.dumps({"type": "played", "turn": turn, "words": 3, "av_offset_ms": 7.5}))
        await ws.send(json.dumps({"type": "played", "turn": turn, "words": 1}))  # first counts
        await ws.send(json.dumps({"type": "ping", "t": 1}))
        await log.wait_for(lambda log: count("pong")(log) >= 1)
        assert count("error")(log) == 2
        session_id = log.messages("ready")[0]["session_id"]
    await _sessions_ended(backend.state)
    conv = await backend.state.store.get_conversation(session_id)
    assert conv is not None
    (answer,) = [m for m in conv.messages if m.role == "model"]
    assert answer.text.startswith("Why did the scarecrow")
    assert answer.heard_text == " ".join(answer.text.split()[:3])
    assert answer.av_offset_ms == 7.5
