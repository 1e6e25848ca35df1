"""Production rehearsal, Vertex AI: `PROJECT_ID`, `VERTEX_LOCATION` and Application Default
Credentials from an `authorized_user` file, nothing else.

The backend refreshes the credentials at `oauth2.googleapis.com` (the token stand-in), then
opens `<region>-aiplatform.googleapis.com` with the access token (the emulator accepts only
that token), both verified against the default trust store, through both Live clients. The
stand-in issues short-lived tokens, so every Live open refreshes them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.support.browser import browser
from tests.support.rehearsal.backend import RehearsalBackend, rehearsal_backend
from tests.support.rehearsal.pki import TOKEN_HOST, StandInPki, vertex_host

from .conftest import (
    CLIENTS,
    CREDENTIALS,
    PROJECT,
    StandIns,
    assert_conversation,
    converse,
    failed_opens,
    open_session,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")
REGION = "us-central1"


def vertex_settings(client: str, location: str, adc_file: Path) -> dict[str, str]:
    return {
        "LIVE_BACKEND": "vertex",
        "LIVE_CLIENT": client,
        "PROJECT_ID": PROJECT,
        "VERTEX_LOCATION": location,
        "GOOGLE_APPLICATION_CREDENTIALS": str(adc_file),
    }


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=CLIENTS)
async def backend(
    request: pytest.FixtureRequest,
    stand_ins: StandIns,
    pki: StandInPki,
    adc_file: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[RehearsalBackend]:
    async with rehearsal_backend(
        vertex_settings(request.param, REGION, adc_file),
        pki=pki,
        hosts={vertex_host(REGION): stand_ins.vertex.port, TOKEN_HOST: stand_ins.token.port},
        workdir=tmp_path_factory.mktemp(f"vertex-{request.param}"),
    ) as running:
        yield running


async def test_spoken_typed_and_tool_turns(backend: RehearsalBackend, stand_ins: StandIns) -> None:
    served = stand_ins.token.served
    log = await converse(backend.ws_url)
    assert_conversation(log)
    assert stand_ins.token.served > served, "the access token came from a refresh"
    assert stand_ins.token.refused == 0
    backend.assert_no_secret(CREDENTIALS.secrets())


@pytest.mark.parametrize(
    ("times", "status", "cause"),
    [
        (1, None, "TransportError"),
        # google-auth tries a 5xx three times itself before the refresh fails.
        (3, 503, "RefreshError"),
    ],
    ids=["unreachable", "5xx"],
)
async def test_a_failed_token_refresh_is_retried(
    backend: RehearsalBackend, stand_ins: StandIns, times: int, status: int | None, cause: str
) -> None:
    before = len(failed_opens(backend.log()))
    failed = stand_ins.token.failed
    stand_ins.token.fail_next(times, status=status)
    log = await open_session(backend.ws_url)
    assert log.messages("ready") and not log.messages("error")
    assert stand_ins.token.failed == failed + times
    (line,) = failed_opens(backend.log())[before:]
    assert line["error_type"] == cause and line["permanent"] is False
    assert line["severity"] == "WARNING" and line["attempt"] == 1
    backend.assert_no_secret(CREDENTIALS.secrets())


async def test_refused_credentials_end_the_session_with_the_cause_logged(
    backend: RehearsalBackend, stand_ins: StandIns
) -> None:
    before = len(failed_opens(backend.log()))
    stand_ins.token.fail_next(1, status=400)  # invalid_grant: a revoked refresh token
    async with browser(backend.ws_url) as (_ws, log):
        await log.wait_for(lambda log: log.close_code is not None)
    assert [e["code"] for e in log.messages("error")] == ["live_refused"]
    (line,) = failed_opens(backend.log())[before:]
    assert line["error_type"] == "RefreshError" and line["permanent"] is True
    assert "invalid_grant" in str(line["detail"])
    backend.assert_no_secret(CREDENTIALS.secrets())


@pytest.mark.parametrize("client", CLIENTS)
async def test_global_location_opens_the_global_host(
    client: str,
    stand_ins: StandIns,
    pki: StandInPki,
    adc_file: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # Only the global host has a stand-in: a regional name would not resolve at all.
    hosts = {vertex_host("global"): stand_ins.vertex.port, TOKEN_HOST: stand_ins.token.port}
    async with rehearsal_backend(
        vertex_settings(client, "global", adc_file),
        pki=pki,
        hosts=hosts,
        workdir=tmp_path_factory.mktemp(f"vertex-global-{client}"),
    ) as running:
        log = await open_session(running.ws_url)
        assert log.messages("ready") and not log.messages("error")
        assert not failed_opens(running.log())
