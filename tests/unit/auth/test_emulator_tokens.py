"""EmulatorVerifier against a stand-in for the Auth emulator's `accounts:lookup`, and when
build_verifier picks it (the real emulator signs in a browser in tests/e2e/test_sign_in.py)."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from liveavatar.auth import FirebaseVerifier, build_verifier
from liveavatar.auth.emulator_tokens import EmulatorVerifier
from liveavatar.auth.tokens import VerifierUnavailable
from liveavatar.errors import Forbidden, Unauthorized
from tests.support.auth_certs import FakeAuthSettings

PROJECT = "demo-test"


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def token(*, alg: str = "none", **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": f"https://securetoken.google.com/{PROJECT}",
        "aud": PROJECT,
        "sub": "user-1",
        "iat": now,
        "exp": now + 3600,
        "auth_time": now,
        "email": "ada@example.com",
        "firebase": {"sign_in_provider": "google.com"},
        **claims,
    }
    return f"{b64({'alg': alg, 'typ': 'JWT'})}.{b64(body)}."


class Emulator:
    """The lookup endpoint: tokens it issued map to users; others get a 400."""

    def __init__(self) -> None:
        self.users: dict[str, dict[str, Any]] = {}
        self.fail = False
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                sent = json.loads(self.rfile.read(length))["idToken"]
                user = emulator.users.get(sent)
                status = 500 if emulator.fail else 200 if user else 400
                answer: dict[str, Any] = {"users": [user]} if status == 200 else {}
                if user and user.get("disabled"):
                    # What the real emulator answers for a disabled account.
                    status, answer = 400, {"error": {"code": 400, "message": "USER_DISABLED"}}
                body = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        return Handler


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    running = Emulator()
    thread = threading.Thread(target=running.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield running
    finally:
        running.server.shutdown()
        running.server.server_close()


async def test_a_token_the_emulator_issued_is_accepted(emulator: Emulator) -> None:
    good = token()
    emulator.users[good] = {"localId": "user-1"}
    verifier = EmulatorVerifier(project_id=PROJECT, emulator_host=emulator.host)
    identity = await verifier.verify(good)
    assert (identity.uid, identity.email, identity.anonymous) == (
        "user-1",
        "ada@example.com",
        False,
    )


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (token(alg="RS256"), "not one of the Auth emulator's"),
        (token(aud="other"), "another project"),
        (token(exp=int(time.time()) - 3600), "expired"),
        ("not-a-token", "malformed"),
    ],
)
async def test_claims_are_checked_as_for_real_tokens(
    emulator: Emulator, bad: str, reason: str
) -> None:
    emulator.users[bad] = {"localId": "user-1"}
    verifier = EmulatorVerifier(project_id=PROJECT, emulator_host=emulator.host)
    with pytest.raises(Unauthorized, match=reason):
        await verifier.verify(bad)


async def test_a_token_the_emulator_does_not_know_is_refused(emulator: Emulator) -> None:
    verifier = EmulatorVerifier(project_id=PROJECT, emulator_host=emulator.host)
    with pytest.raises(Unauthorized, match="does not know"):
        await verifier.verify(token())
    disabled = token()
    emulator.users[disabled] = {"localId": "user-1", "disabled": True}
    with pytest.raises(Unauthorized, match="disabled"):
        await verifier.verify(disabled)
    other = token()
    emulator.users[other] = {"localId": "someone-else"}
    with pytest.raises(Unauthorized, match="does not match"):
        await verifier.verify(other)


async def test_an_emulator_that_fails_is_a_retry_not_a_refusal(emulator: Emulator) -> None:
    emulator.fail = True
    verifier = EmulatorVerifier(project_id=PROJECT, emulator_host=emulator.host)
    with pytest.raises(VerifierUnavailable):
        await verifier.verify(token())


def test_only_non_production_settings_with_the_variable_pick_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    on = FakeAuthSettings(auth_enabled=True, firebase_project_id=PROJECT)
    assert isinstance(build_verifier(on), FirebaseVerifier)
    monkeypatch.setenv("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099")
    assert isinstance(build_verifier(on), EmulatorVerifier)
    production = FakeAuthSettings(
        environment="production", auth_enabled=True, firebase_project_id=PROJECT
    )
    assert isinstance(build_verifier(production), FirebaseVerifier)


async def test_an_anonymous_sign_in_is_a_guest_accepted_only_when_the_setting_says_so(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    guest = token(sub="guest-1", email=None, firebase={"sign_in_provider": "anonymous"})
    emulator.users[guest] = {"localId": "guest-1"}
    monkeypatch.setenv("FIREBASE_AUTH_EMULATOR_HOST", emulator.host)
    settings = FakeAuthSettings(auth_enabled=True, firebase_project_id=PROJECT)
    with pytest.raises(Forbidden, match="guest"):
        await build_verifier(settings).verify(guest)
    allowed = FakeAuthSettings(
        auth_enabled=True, firebase_project_id=PROJECT, auth_allow_anonymous=True
    )
    identity = await build_verifier(allowed).verify(guest)
    assert (identity.uid, identity.email, identity.anonymous) == ("guest-1", None, True)
    # Production picks the signature-checking verifier, which carries the same setting.
    production = FakeAuthSettings(
        environment="production",
        auth_enabled=True,
        firebase_project_id=PROJECT,
        auth_allow_anonymous=True,
    )
    verifier = build_verifier(production)
    assert isinstance(verifier, FirebaseVerifier) and verifier.allow_anonymous
