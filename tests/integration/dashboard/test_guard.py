"""The guard in front of every page: sign-in form, wrong token; production's refusal of a
store of one machine (IAP in production: test_iap_production.py)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from liveavatar.dashboard import guard
from tests.integration.dashboard.conftest import (
    Seeded,
    new_app,
    open_page,
    sign_in,
    titles,
)
from tests.support.auth_certs import IAP_AUDIENCE

PAGES = {
    "overview": "Overview",
    "conversations": "Conversations",
    "persona": "Persona",
    "users": "Users",
    "media": "Media",
}


def _shows_only_sign_in(at: AppTest) -> None:
    assert not at.exception
    assert titles(at) == ["Sign in"]
    assert not at.dataframe and not at.metric and not at.table
    assert at.text_input(key="admin_token") is not None


@pytest.mark.parametrize("url_path", list(PAGES))
def test_no_page_renders_before_signing_in(seeded: Seeded, url_path: str) -> None:
    at = new_app().run()
    _shows_only_sign_in(at)
    open_page(at, url_path)
    _shows_only_sign_in(at)


def test_a_wrong_token_is_refused(seeded: Seeded) -> None:
    at = sign_in(new_app(), "not-the-token")
    _shows_only_sign_in(at)
    assert [e.value for e in at.error] == ["That token is not the admin token."]


def test_the_admin_token_opens_every_page(seeded: Seeded) -> None:
    at = sign_in(new_app())
    assert not at.exception
    assert titles(at) == ["Overview"]
    for url_path, title in PAGES.items():
        open_page(at, url_path)
        assert not at.exception, url_path
        assert titles(at) == [title]


def test_signing_out_closes_the_pages(seeded: Seeded) -> None:
    at = sign_in(new_app())
    at.sidebar.button(key="sign_out").click()
    at.run()
    _shows_only_sign_in(at)


def test_without_a_token_it_is_open_and_says_localhost_only(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ADMIN_TOKEN")
    at = new_app().run()
    assert not at.exception
    assert titles(at) == ["Overview"]
    assert guard.OPEN_NOTE in [c.value for c in at.sidebar.caption]


def test_open_mode_refuses_a_request_for_another_host(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ADMIN_TOKEN")
    monkeypatch.setattr(guard, "_request_headers", lambda: {"Host": "evil.example:8501"})
    at = new_app().run()
    assert titles(at) == []
    assert "only answers on localhost" in at.error[0].value


def test_production_refuses_a_store_of_one_machine(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The production guard itself runs over Firestore in test_iap_production.py.
    for name, value in {
        "ENVIRONMENT": "production",
        "PROJECT_ID": "demo-avatar",
        "LIVE_BACKEND": "gemini",
        "GEMINI_API_KEY": "AIzaSyD-realistic-looking-key-0001",
        "AUTH_ENABLED": "true",
        "IAP_AUDIENCE": IAP_AUDIENCE,
    }.items():
        monkeypatch.setenv(name, value)
    at = new_app().run()
    assert not at.exception
    assert titles(at) == []
    assert "refusing to start in production: STORE_BACKEND=sqlite" in at.error[0].value
