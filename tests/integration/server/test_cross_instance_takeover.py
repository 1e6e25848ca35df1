"""Two instances sharing one store: a page resumes on one while its session is still open on
the other; the newer connection continues and the older one learns it was taken over."""

from __future__ import annotations

import json

import pytest

from liveavatar.emulator.server import EmulatorServer
from tests.integration.server.conftest import StartBackend, backend_settings
from tests.integration.server.test_session_ownership import (
    KEY_A,
    hello,
    ready,
    talk,
    user_texts,
)
from tests.support.browser import browser, count

pytestmark = pytest.mark.slow


async def test_a_session_resumed_on_another_instance_ends_on_the_first(
    emulator: EmulatorServer, start_backend: StartBackend
) -> None:
    first = await start_backend(backend_settings(emulator))
    shared = first.state.settings.data_dir  # one SQLite file for both processes' stores
    second = await start_backend(backend_settings(emulator, data_dir=shared))
    async with browser(first.ws_url, hello=hello(browser_key=KEY_A)) as (ws, old):
        await old.wait_for(lambda log: count("ready")(log) == 1)
        session_id = ready(old)["session_id"]
        await ws.send(json.dumps({"type": "text", "text": "how are you"}))
        await old.wait_for(lambda log: count("turn_complete")(log) == 1)
        # The page's network dropped and it came back through the front end to the other
        # instance, while the first still holds the old socket.
        new = await talk(second, "what did i say", browser_key=KEY_A, session_id=session_id)
        # The first notices at its periodic check of the store (no turn of its own).
        await old.wait_for(lambda log: log.close_code is not None)
    assert ready(new)["resumed"] and ready(new)["session_id"] == session_id
    # Resumed from the handle the first instance stored: the model remembers.
    assert "how are you" in " ".join(new.final("model")).lower()
    assert old.close_code == 4409
    assert old.messages("error")[-1]["code"] == "session_replaced"
    assert await user_texts(first.state.settings, session_id) == ["how are you", "what did i say"]
