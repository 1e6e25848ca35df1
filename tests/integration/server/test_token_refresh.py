"""Sign-in renewed over the open socket: a page sends a fresh ID token (`token`) before
the one of `hello` runs out and talks on; a session whose token lapsed with no fresh one
is closed with 4401 once the grace period is over; a fresh token of another user, a
forged or malformed one, or a guest's where guests are off closes it at once (4401,
4403). A real backend with sign-in on, its tokens checked against a certs endpoint on
127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import json
import math
import time
from collections.abc import Iterator

import pytest

from liveavatar.emulator.server import EmulatorServer
from liveavatar.errors import CLOSE_BAD_REQUEST, CLOSE_FORBIDDEN, CLOSE_UNAUTHORIZED
from liveavatar.settings import Settings
from tests.integration.server.conftest import StartBackend, backend_settings
from tests.support.auth_certs import PROJECT, CertsServer, SigningKeys
from tests.support.browser import BrowserLog, browser, count

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


def raw_token(header: bytes, claims: bytes) -> str:
    """A token of the given JSON segments, with a signature nothing will accept."""

    def segment(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    return f"{segment(header)}.{segment(claims)}.c2ln"


def hostile_tokens(keys: SigningKeys) -> dict[str, str]:
    """Tokens an attacker can make, each to be refused as `unauthorized`."""
    rs256 = b'{"alg":"RS256","kid":"' + keys.rsa_kid.encode() + b'"}'
    return {
        # Python's JSON parser gives up on these with RecursionError, or OverflowError when
        # the time is made a float: both once escaped the verifier and ended the session
        # as `internal` / 1011.
        "nested claims": raw_token(rs256, b"[" * 6000),
        "nested header": raw_token(b"[" * 6000, b"{}"),
        "exp beyond a float": keys.firebase_token(exp=10**400),
        "exp Infinity": raw_token(rs256, json.dumps(keys.firebase_claims(exp=math.inf)).encode()),
        "another project": keys.firebase_token(aud="someone-elses-project"),
        "another key": keys.firebase_token(forged=True),
        "garbage at the size limit": "x" * 8192,
    }


async def closed(log: BrowserLog) -> None:
    async with asyncio.timeout(30), log.changed:
        await log.changed.wait_for(lambda: log.close_code is not None)


async def test_hostile_tokens_are_refused_4401_at_hello_and_at_renewal(
    emulator: EmulatorServer, start_backend: StartBackend, certs: CertsServer
) -> None:
    backend = await start_backend(settings_for(emulator, certs))
    for name, bad in hostile_tokens(certs.keys).items():
        async with browser(backend.ws_url, hello=hello(bad)) as (_ws, log):
            await closed(log)
        assert (log.close_code, log.messages("error")[-1]["code"]) == (
            CLOSE_UNAUTHORIZED,
            "unauthorized",
        ), f"at hello: {name}"
        async with browser(backend.ws_url, hello=hello(certs.keys.firebase_token())) as (ws, log):
            await log.wait_for(lambda log: count("ready")(log) == 1)
            await ws.send(json.dumps({"type": "token", "token": bad}))
            await closed(log)
        assert (log.close_code, log.messages("error")[-1]["code"]) == (
            CLOSE_UNAUTHORIZED,
            "unauthorized",
        ), f"at renewal: {name}"


async def test_a_guest_token_is_forbidden_4403_at_hello_and_at_renewal_when_guests_are_off(
    emulator: EmulatorServer, start_backend: StartBackend, certs: CertsServer
) -> None:
    backend = await start_backend(settings_for(emulator, certs))  # AUTH_ALLOW_ANONYMOUS off
    guest = certs.keys.firebase_token(
        sub="guest-1", user_id="guest-1", email=None, firebase={"sign_in_provider": "anonymous"}
    )
    async with browser(backend.ws_url, hello=hello(guest)) as (_ws, log):
        await closed(log)
    assert log.close_code == CLOSE_FORBIDDEN and not count("ready")(log)
    assert log.messages("error")[-1]["code"] == "forbidden"

    async with browser(backend.ws_url, hello=hello(certs.keys.firebase_token())) as (ws, log):
        await log.wait_for(lambda log: count("ready")(log) == 1)
        await ws.send(json.dumps({"type": "token", "token": guest}))
        await closed(log)
    assert log.close_code == CLOSE_FORBIDDEN
    assert log.messages("error")[-1]["code"] == "forbidden"


async def test_a_token_before_hello_is_a_protocol_error_4400(
    emulator: EmulatorServer, start_backend: StartBackend, certs: CertsServer
) -> None:
    backend = await start_backend(settings_for(emulator, certs))
    first = {"type": "token", "token": certs.keys.firebase_token()}
    async with browser(backend.ws_url, hello=first) as (_ws, log):
        await closed(log)
    assert log.close_code == CLOSE_BAD_REQUEST and not count("ready")(log)
    assert "hello" in log.messages("error")[-1]["message"]
