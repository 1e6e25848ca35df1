"""Sign-in in headless Chromium against the Firebase Auth emulator (firebase-tools from npm,
started here on free ports): the page loads the Firebase JS SDK from its own origin (the
copy scripts/vendor_firebase.py makes from the pinned npm package), the backend accepts the
emulator's tokens because these settings are not production's, sign-out ends the session,
an expired token is refreshed on the next connection without losing the conversation,
a token near its expiry is renewed over the open socket, and a refused sign-in says why.

The page runs as production does (a non-local host name with /deploy-config.json naming
Firebase, `authRequired`), with `authEmulatorUrl` pointing the SDK at the emulator. Google's
sign-in popup needs Google's servers, so the test signs in through the same SDK with a
Google credential the emulator accepts (`signInWithCredential`); everything after that is
the product's own path.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from bench._browser import (
    Stack,
    free_ports,
    liveavatar_up,
)
from playwright.sync_api import expect

from tests.e2e.auth_emulator import PROJECT, auth_emulator, emulator_admin, signed_in_site
from tests.e2e.avatar_page import AvatarPage, OpenPage

__all__ = ["auth_emulator"]  # a fixture of this module

pytestmark = pytest.mark.slow

HOST = "avatar.test"
QUESTION = "what is your name"
#: The backend renews its sockets at this age; the page reconnects with a fresh token.
SOCKET_MAX_AGE_S = 15

SIGN_IN = """
async (credential) => {
  const sdk = await import('/vendor/firebase/firebase-auth.js');
  const auth = sdk.getAuth();
  await sdk.signInWithCredential(auth, sdk.GoogleAuthProvider.credential(credential));
  return auth.currentUser.uid;
}
"""
#: What the SDK holds: the current ID token, and a way to make it look expired (its
#: expiry time in the past), as an hour-old token would be.
_TOKENS = (
    "(await import('/vendor/firebase/firebase-auth.js')).getAuth().currentUser.stsTokenManager"
)
TOKEN = f"(async () => {_TOKENS}.accessToken)()"
EXPIRE = f"(async () => {{ {_TOKENS}.expirationTime = Date.now() - 1000; }})()"


@dataclass(frozen=True)
class SignInStack:
    stack: Stack
    emulator: str  # host:port of the Auth emulator

    @property
    def origin(self) -> str:
        return f"http://{HOST}:{self.stack.frontend_port}"

    def page_url(self) -> str:
        query = urlencode({"backend": self.stack.backend_ws, "avatar": "drawn"})
        return f"{self.origin}/?{query}"

    def browser_args(self) -> list[str]:
        # A host name that is not localhost makes the page read /deploy-config.json; it
        # is a secure context for this browser only.
        return [
            f"--host-resolver-rules=MAP {HOST} 127.0.0.1",
            f"--unsafely-treat-insecure-origin-as-secure={self.origin}",
        ]

    def admin(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return emulator_admin(self.emulator, path, body)


@pytest.fixture(scope="module")
def signin(auth_emulator: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SignInStack]:
    """`liveavatar up` with sign-in on, its page a copy of frontend/ with the SDK and a
    deploy config naming the Auth emulator."""
    workdir = tmp_path_factory.mktemp("sign-in")
    site = signed_in_site(workdir / "site", auth_emulator)
    ports = free_ports(4)
    env = {
        "FRONTEND_DIR": str(site),
        "AUTH_ENABLED": "true",
        "FIREBASE_PROJECT_ID": PROJECT,
        "FIREBASE_AUTH_EMULATOR_HOST": auth_emulator,
        "ALLOWED_ORIGINS": json.dumps([f"http://{HOST}:{ports[2]}"]),
        "SOCKET_MAX_AGE_S": str(SOCKET_MAX_AGE_S),
    }
    with liveavatar_up(workdir, env=env, ports=ports) as stack:
        yield SignInStack(stack, auth_emulator)


def google_credential(name: str) -> str:
    """A Google ID token as the emulator takes it: unsigned claims, as JSON."""
    return json.dumps(
        {"sub": f"google-{name}", "email": f"{name}@example.com", "email_verified": True}
    )


def open_signed_out(signin: SignInStack, open_page: OpenPage) -> AvatarPage:
    page = open_page(signin.page_url(), extra_args=signin.browser_args())
    button = page.page.locator(".sign-in")
    expect(button).to_be_visible()
    expect(button).to_have_text("Sign in with Google")
    return page


def ask(page: AvatarPage, text: str) -> None:
    done = len(page.events("turn_complete"))
    page.testid("text-input").fill(text)
    page.testid("send").click()
    page.wait_event("turn_complete", after=done)


def test_sign_in_talk_refresh_the_token_and_sign_out(
    signin: SignInStack, open_page: OpenPage
) -> None:
    page = open_signed_out(signin, open_page)
    uid = page.page.evaluate(SIGN_IN, google_credential("ada"))
    expect(page.page.locator(".user")).to_have_text("ada@example.com")
    expect(page.page.locator(".sign-in")).to_have_text("Sign out")

    # The backend takes the emulator's token (non-production settings).
    page.testid("start").click()
    page.wait_for("h.connected")
    first = page.events("ready")[0]
    ask(page, QUESTION)
    assert signin.admin("accounts:lookup", {"localId": [uid]})["users"][0]["localId"] == uid

    # The token runs out mid-session: the next connection (the backend renews its socket
    # after SOCKET_MAX_AGE_S) carries a refreshed one, and the conversation goes on.
    before = page.page.evaluate(TOKEN)
    page.page.evaluate(EXPIRE)
    page.wait_event("ready", after=1, timeout_ms=(SOCKET_MAX_AGE_S + 30) * 1000)
    again = page.events("ready")[1]
    assert again["session_id"] == first["session_id"] and again["resumed"] is True
    page.wait_for("h.connected")
    assert page.page.evaluate(TOKEN) != before, "a fresh token after the expiry"
    ask(page, QUESTION)
    expect(page.transcript("model")).to_have_count(2)
    expect(page.testid("error")).to_be_hidden()

    page.page.locator(".sign-in").click()
    page.wait_event("signed-out")
    expect(page.page.locator(".sign-in")).to_have_text("Sign in with Google")
    expect(page.page.locator(".user")).to_be_hidden()
    page.wait_state("idle")


def test_a_refused_sign_in_says_why(signin: SignInStack, open_page: OpenPage) -> None:
    page = open_signed_out(signin, open_page)
    uid = page.page.evaluate(SIGN_IN, google_credential("bob"))
    signin.admin("accounts:update", {"localId": uid, "disableUser": True})

    page.testid("start").click()
    banner = page.testid("error")
    expect(banner).to_have_attribute("data-code", "unauthorized")
    expect(banner).to_contain_text("The server refused the sign-in: this account is disabled.")
    expect(banner).to_contain_text("Sign in again")
    page.wait_state("error")
    page.screenshot("refused")


#: Every JSON message the page sends on its sockets, for the test to read.
SENT_SPY = """
(() => {
  const sent = (window.__sent = []);
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    if (typeof data === 'string') sent.push(JSON.parse(data));
    return send.call(this, data);
  };
})();
"""
#: The page's clock runs this far ahead of the emulator's: an hour's token then has about
#: five minutes left as the page sees it, so its renewal (five minutes before the expiry)
#: comes seconds after the session opens, and again every few seconds.
AHEAD = dt.timedelta(minutes=54, seconds=50)


def test_a_token_near_its_expiry_is_renewed_over_the_open_socket(
    signin: SignInStack, open_page: OpenPage
) -> None:
    page = open_page(signin.page_url(), extra_args=signin.browser_args(), init_scripts=[SENT_SPY])
    page.page.clock.install(time=dt.datetime.now(dt.UTC) + AHEAD)
    page.page.reload()
    expect(page.page.locator(".sign-in")).to_be_visible()  # the SDK is loaded
    page.page.evaluate(SIGN_IN, google_credential("cy"))
    page.testid("start").click()
    page.wait_for("h.connected")
    page.wait_for("window.__sent.some((m) => m.type === 'token')", timeout_ms=60_000)
    sent = page.page.evaluate("window.__sent")
    hellos = [m["token"] for m in sent if m["type"] == "hello"]
    fresh = [m["token"] for m in sent if m["type"] == "token"]
    assert fresh[0] not in hellos, "a new token, not the one of hello"
    # The backend took it (same user): the conversation goes on over the same sign-in.
    ask(page, QUESTION)
    expect(page.testid("error")).to_be_hidden()
    assert not [e for e in page.events("problem") if e.get("code") == "unauthorized"]
