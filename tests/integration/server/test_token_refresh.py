"""Sign-in renewed over the open socket: a page sends a fresh ID token (`token`) before
the one of `hello` runs out and talks on; a session whose token lapsed with no fresh one
is closed with 4401 once the grace period is over; a fresh token of another user closes
it at once. A real backend with sign-in on, its tokens checked against a certs endpoint on
127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import pytest

from liveavatar.emulator.server import EmulatorServer
from liveavatar.errors import CLOSE_UNAUTHORIZED
from liveavatar.settings import Settings
from tests.integration.server.conftest import StartBackend, backend_settings
from tests.support.auth_certs import PROJECT, CertsServer, SigningKeys
from tests.support.browser import browser, count

GRACE_S = 1.0
#: Lifetime of the short tokens given at `hello`: valid then, lapsed soon after.
SHORT_S = 2


@pytest.fixture
def certs() -> Iterator[CertsServer]:
    server = CertsServer(SigningKeys()).start()
    yield server
    server.stop()


def settings_for(emulator: EmulatorServer, certs: CertsServer) -> Settings:
    return backend_settings(
        emulator,
        auth_enabled=True,
        firebase_project_id=PROJECT,
        firebase_certs_url=certs.url("/x509"),
        auth_token_grace_s=GRACE_S,
    )


def hello(token: str) -> dict[str, object]:
    return {"type": "hello", "version": 1, "token": token}


async def test_a_lapsed_token_with_no_fresh_one_closes_the_session_with_4401(
    emulator: EmulatorServer, start_backend: StartBackend, certs: CertsServer
) -> None:
    backend = await start_backend(settings_for(emulator, certs))
    short = certs.keys.firebase_token(exp=int(time.time()) + SHORT_S)
    async with browser(backend.ws_url, hello=hello(short)) as (_ws, log):
        await log.wait_for(lambda log: count("ready")(log) == 1)
        async with asyncio.timeout(30), log.changed:
            await log.changed.wait_for(lambda: log.close_code is not None)
    assert log.close_code == CLOSE_UNAUTHORIZED
    (error,) = log.messages("error")
    assert error["code"] == "unauthorized" and error["fatal"]
    assert "expired" in error["message"]


async def test_a_fresh_token_of_the_same_user_keeps_the_session_going(
    emulator: EmulatorServer, start_backend: StartBackend, certs: CertsServer
) -> None:
    backend = await start_backend(settings_for(emulator, certs))
    lapse = int(time.time()) + SHORT_S
    short = certs.keys.firebase_token(exp=lapse)
    async with browser(backend.ws_url, hello=hello(short)) as (ws, log):
        await log.wait_for(lambda log: count("ready")(log) == 1)
        fresh = certs.keys.firebase_token()  # the same user, an hour to go
        await ws.send(json.dumps({"type": "token", "token": fresh}))
        # Past the short token's expiry and the grace period: only then can the session's
        # survival mean anything.
        await asyncio.sleep(max(0.0, lapse + GRACE_S + 1 - time.time()))
        await ws.send(json.dumps({"type": "text", "text": "what is your name"}))
        await log.wait_for(lambda log: count("turn_complete")(log) == 1)
        assert log.close_code is None
        assert not [m for m in log.messages("error") if m.get("fatal")]


async def test_a_fresh_token_of_another_user_closes_the_session(
    emulator: EmulatorServer, start_backend: StartBackend, certs: CertsServer
) -> None:
    backend = await start_backend(settings_for(emulator, certs))
    async with browser(backend.ws_url, hello=hello(certs.keys.firebase_token())) as (ws, log):
        await log.wait_for(lambda log: count("ready")(log) == 1)
        other = certs.keys.firebase_token(sub="mallory", user_id="mallory")
        await ws.send(json.dumps({"type": "token", "token": other}))
        async with asyncio.timeout(30), log.changed:
            await log.changed.wait_for(lambda: log.close_code is not None)
    assert log.close_code == CLOSE_UNAUTHORIZED
    assert "another user" in log.messages("error")[-1]["message"]
