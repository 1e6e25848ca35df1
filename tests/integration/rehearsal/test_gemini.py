"""Production rehearsal, Gemini Developer API: `LIVE_BACKEND=gemini` and a key, nothing else.

The backend resolves `generativelanguage.googleapis.com:443` to the emulator (which accepts
only this key) and verifies its certificate against the default trust store, through both
Live clients.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.support.rehearsal.backend import RehearsalBackend, rehearsal_backend
from tests.support.rehearsal.pki import GEMINI_HOST, StandInPki

from .conftest import CLIENTS, GEMINI_KEY, StandIns, assert_conversation, converse

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=CLIENTS)
async def backend(
    request: pytest.FixtureRequest,
    stand_ins: StandIns,
    pki: StandInPki,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[RehearsalBackend]:
    live = {"LIVE_BACKEND": "gemini", "GEMINI_API_KEY": GEMINI_KEY, "LIVE_CLIENT": request.param}
    async with rehearsal_backend(
        live,
        pki=pki,
        hosts={GEMINI_HOST: stand_ins.gemini.port},  # no token endpoint: a key needs none
        workdir=tmp_path_factory.mktemp(f"gemini-{request.param}"),
    ) as running:
        yield running


async def test_spoken_typed_and_tool_turns(backend: RehearsalBackend) -> None:
    log = await converse(backend.ws_url)
    assert_conversation(log)
    assert backend.log(), "the backend logs JSON lines"
    backend.assert_no_secret([GEMINI_KEY])
