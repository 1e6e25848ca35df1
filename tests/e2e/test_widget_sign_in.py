"""The widget against a backend that requires sign-in, as production does: the frontend's
deploy config names Firebase (the Auth emulator here), so the widget on someone else's
site signs its visitor in anonymously before `hello` and sends the ID token. With
`AUTH_ALLOW_ANONYMOUS` on, a typed turn works, the stored conversation belongs to the
visitor's anonymous uid, and two visitors get two uids with separate quotas. With it off,
the panel says so and no microphone is opened (and no guest account is made).
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from bench._browser import Stack, liveavatar_up
from playwright.sync_api import expect

from liveavatar.store import DB_FILENAME
from tests.e2e.auth_emulator import PROJECT, auth_emulator, emulator_admin, signed_in_site
from tests.e2e.avatar_page import TURN_TIMEOUT_MS, AvatarPage, OpenPage
from tests.e2e.conftest import HostSites
from tests.e2e.test_widget import WIDGET, open_host

__all__ = ["auth_emulator"]  # a fixture of this module

pytestmark = pytest.mark.slow

TYPED = "what is your name"

#: The visitor's uid, from the widget's own Firebase app (the SDK module the widget loaded).
GUEST_UID = """
async (frontend) => {
  const app = await import(frontend + 'vendor/firebase/firebase-app.js');
  const auth = await import(frontend + 'vendor/firebase/firebase-auth.js');
  return auth.getAuth(app.getApp('liveavatar-widget')).currentUser?.uid ?? null;
}
"""


@pytest.fixture(scope="module")
def guest_site(auth_emulator: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of frontend/ with the SDK and a deploy config that requires sign-in with the
    Auth emulator's project (what deploy.sh writes, plus the emulator's address)."""
    return signed_in_site(tmp_path_factory.mktemp("guest-site") / "site", auth_emulator)


@contextlib.contextmanager
def signed_in_stack(
    workdir: Path, site: Path, emulator: str, host_sites: HostSites, *, guests: bool
) -> Iterator[Stack]:
    env = {
        "FRONTEND_DIR": str(site),
        "AUTH_ENABLED": "true",
        "AUTH_ALLOW_ANONYMOUS": "true" if guests else "false",
        "FIREBASE_PROJECT_ID": PROJECT,
        "FIREBASE_AUTH_EMULATOR_HOST": emulator,
    }
    with liveavatar_up(workdir, env=env, extra_origins=[host_sites.allowed.origin]) as stack:
        yield stack


def db(workdir: Path) -> sqlite3.Connection:
    return sqlite3.connect(workdir / "data" / DB_FILENAME, timeout=10)


def stored_conversation_owners(workdir: Path, *, timeout_s: float = 10.0) -> set[str]:
    """The users whose conversations hold a stored turn (bounded wait: a turn is written
    when it finishes, a moment after the page shows it)."""
    deadline = time.monotonic() + timeout_s
    while True:
        with contextlib.closing(db(workdir)) as conn:
            rows = conn.execute("SELECT user_id FROM conversations WHERE turns > 0").fetchall()
        if rows or time.monotonic() > deadline:
            return {str(r[0]) for r in rows}
        time.sleep(0.1)


def open_panel(page: AvatarPage) -> None:
    """Open the panel and wait until its app is running (the focus moves to Start then)."""
    page.testid("widget-open").click()
    page.wait_for(f"{WIDGET}.activeElement?.dataset.testid === 'start'")


def start_and_type(page: AvatarPage) -> None:
    open_panel(page)
    page.testid("start").click()
    page.wait_for("h.connected")
    done = len(page.events("turn_complete"))
    page.testid("text-input").fill(TYPED)
    page.testid("text-input").press("Enter")
    page.wait_event("turn_complete", after=done)
    expect(page.testid("error")).to_be_hidden()


def test_widget_visitors_sign_in_as_guests_each_with_their_own_uid_and_quota(
    auth_emulator: str,
    guest_site: Path,
    host_sites: HostSites,
    open_page: OpenPage,
    tmp_path: Path,
) -> None:
    with signed_in_stack(tmp_path, guest_site, auth_emulator, host_sites, guests=True) as stack:
        first = open_host(open_page, host_sites.allowed, stack)
        start_and_type(first)
        assert first.events("signed-in") and first.events("signed-in")[0]["guest"] is True
        uid = first.page.evaluate(GUEST_UID, stack.frontend_url)
        assert uid
        # An anonymous account of the emulator's project: no provider, no email.
        account = emulator_admin(auth_emulator, "accounts:lookup", {"localId": [uid]})["users"][0]
        assert not account.get("providerUserInfo") and not account.get("email")
        assert stored_conversation_owners(tmp_path) == {uid}
        with contextlib.closing(db(tmp_path)) as conn:
            assert conn.execute("SELECT email FROM users WHERE id = ?", (uid,)).fetchone() == ("",)
        first.testid("stop").click()
        first.wait_state("idle")

        # The first visitor's day is used up; a second visitor has their own uid and quota.
        with contextlib.closing(db(tmp_path)) as conn, conn:
            conn.execute("UPDATE users SET quota_minutes_per_day = 0 WHERE id = ?", (uid,))
        second = open_host(open_page, host_sites.allowed, stack)
        start_and_type(second)
        other = second.page.evaluate(GUEST_UID, stack.frontend_url)
        assert other and other != uid
        assert stored_conversation_owners(tmp_path) == {uid, other}

        first.testid("start").click()
        banner = first.testid("error")
        expect(banner).to_have_attribute("data-code", "quota_exceeded", timeout=TURN_TIMEOUT_MS)

        # A reload of the host page keeps the guest (the widget's Firebase app persists it
        # in the site's storage), and so the quota: no fresh allowance for reloading.
        first.page.reload()
        open_panel(first)
        first.testid("start").click()
        expect(banner).to_have_attribute("data-code", "quota_exceeded", timeout=TURN_TIMEOUT_MS)
        assert first.page.evaluate(GUEST_UID, stack.frontend_url) == uid


def test_a_backend_that_takes_no_guests_is_said_before_any_microphone_or_account(
    auth_emulator: str,
    guest_site: Path,
    host_sites: HostSites,
    open_page: OpenPage,
    tmp_path: Path,
) -> None:
    with signed_in_stack(tmp_path, guest_site, auth_emulator, host_sites, guests=False) as stack:
        page = open_host(open_page, host_sites.allowed, stack)
        open_panel(page)
        banner = page.testid("error")
        expect(banner).to_have_attribute("data-code", "guests_refused", timeout=TURN_TIMEOUT_MS)
        expect(banner).to_contain_text("does not accept visitors without an account")
        page.testid("start").click()
        expect(page.testid("status")).to_have_attribute(
            "data-state", "error", timeout=TURN_TIMEOUT_MS
        )
        expect(banner).to_have_attribute("data-code", "guests_refused")
        page.screenshot("guests-refused")
        assert page.page.evaluate("window.__media.micRequests") == 0
        assert not page.events("mic-started") and not page.events("signed-in")
        assert page.page.evaluate(GUEST_UID, stack.frontend_url) is None
