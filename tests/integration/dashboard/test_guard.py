"""The guard in front of every page: sign-in form, wrong token, IAP in production."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from liveavatar.auth.iap import IAP_HEADER
from liveavatar.dashboard import guard
from tests.integration.dashboard.conftest import (
    Seeded,
    new_app,
    open_page,
    sign_in,
    titles,
)
from tests.support.auth_certs import IAP_AUDIENCE, CertsServer, SigningKeys

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


@pytest.fixture
def iap(seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[SigningKeys, str]]:
    """Production settings behind IAP, with IAP's keys served on 127.0.0.1."""
    keys = SigningKeys()
    server = CertsServer(keys).start()
    try:
        for name, value in {
            "ENVIRONMENT": "production",
            "PROJECT_ID": "demo-avatar",
            "LIVE_BACKEND": "gemini",
            "GEMINI_API_KEY": "AIzaSyD-realistic-looking-key-0001",
            "AUTH_ENABLED": "true",
            "IAP_AUDIENCE": IAP_AUDIENCE,
            "IAP_CERTS_URL": server.url("/iap-jwk"),
        }.items():
            monkeypatch.setenv(name, value)
        yield keys, IAP_AUDIENCE
    finally:
        server.stop()


def test_production_refuses_without_the_iap_header(iap: tuple[SigningKeys, str]) -> None:
    at = new_app().run()
    assert titles(at) == []
    assert not at.text_input  # no token form in production
    assert "Identity-Aware Proxy" in at.error[0].value


def test_production_refuses_an_assertion_for_another_service(
    iap: tuple[SigningKeys, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    keys, _ = iap
    other = keys.iap_token(audience="/projects/1/apps/someone-else")
    monkeypatch.setattr(guard, "_request_headers", lambda: {IAP_HEADER: other})
    at = new_app().run()
    assert titles(at) == []
    assert at.error[0].value.startswith("Refused:")


def test_production_accepts_a_valid_iap_assertion(
    iap: tuple[SigningKeys, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    keys, audience = iap
    token = keys.iap_token(audience=audience, email="accounts.google.com:ops@example.com")
    monkeypatch.setattr(guard, "_request_headers", lambda: {IAP_HEADER: token})
    at = new_app().run()
    assert not at.exception
    assert titles(at) == ["Overview"]
    assert "Signed in as ops@example.com" in [c.value for c in at.sidebar.caption]
    # Where the Persona and Media pages read who saved a version.
    assert at.session_state["admin"].email == "ops@example.com"
    for url_path, title in PAGES.items():
        open_page(at, url_path)
        assert titles(at) == [title]
