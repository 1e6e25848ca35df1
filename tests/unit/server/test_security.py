"""Security headers: the page's CSP, framing, HSTS and the backend's strict policy."""

from __future__ import annotations

from typing import Any

import pytest

from liveavatar.server.security import (
    API_CSP,
    CLOUD_STORAGE,
    HSTS,
    api_headers,
    backend_origins,
    frame_ancestors,
    page_csp,
    page_headers,
)
from liveavatar.settings import Settings


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def production(**values: Any) -> Settings:
    return settings(
        environment="production",
        project_id="acme-avatar-prod",
        live_backend="vertex",
        auth_enabled=True,
        **values,
    )


def directives(csp: str) -> dict[str, list[str]]:
    parsed = {}
    for directive in csp.split(";"):
        name, *sources = directive.split()
        parsed[name] = sources
    return parsed


def test_backend_origins_cover_websocket_and_http() -> None:
    assert backend_origins("ws://localhost:8080/ws") == [
        "ws://localhost:8080",
        "http://localhost:8080",
    ]
    assert backend_origins("wss://api.example.com/ws") == [
        "wss://api.example.com",
        "https://api.example.com",
    ]
    assert backend_origins("https://api.example.com") == [
        "wss://api.example.com",
        "https://api.example.com",
    ]
    with pytest.raises(ValueError):
        backend_origins("javascript:alert(1)")


def test_page_csp_allows_the_backend_and_nothing_foreign() -> None:
    csp = directives(page_csp(backends=["wss://api.example.com/ws"]))
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["connect-src"] == ["'self'", "wss://api.example.com", "https://api.example.com"]
    assert csp["media-src"] == ["'self'", "blob:", "https://api.example.com"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'self'"]
    assert "'unsafe-inline'" not in str(csp) and "'unsafe-eval'" not in str(csp)


def test_firebase_sources_only_with_sign_in() -> None:
    off = page_csp(backends=["wss://api.example.com/ws"])
    on = directives(page_csp(backends=["wss://api.example.com/ws"], firebase=True))
    assert "gstatic" not in off and "firebaseapp" not in off
    assert "https://apis.google.com" in on["script-src"] and "gstatic" not in on["script-src"]
    assert "https://identitytoolkit.googleapis.com" in on["connect-src"]
    assert "https://securetoken.googleapis.com" in on["connect-src"]
    assert "https://*.firebaseapp.com" in on["frame-src"]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (["'self'"], ["'self'"]),
        (["self"], ["'self'"]),
        (["none"], ["'none'"]),
        ([], ["'none'"]),
        (["'self'", "https://partner.example.com"], ["'self'", "https://partner.example.com"]),
        (["https://*.example.com:8443/"], ["https://*.example.com:8443"]),
    ],
)
def test_frame_ancestors_are_normalised(given: list[str], expected: list[str]) -> None:
    assert frame_ancestors(given) == expected


@pytest.mark.parametrize(
    "bad",
    [
        "https://a.example; script-src *",
        "https://a.example, https://b.example",
        "*",
        "'unsafe-inline'",
        "javascript:",
        "https://a.example/path",
        "https://[::1]:8443",
        "https://a.example\r\nSet-Cookie: x=1",
    ],
)
def test_frame_ancestors_refuse_what_is_not_an_origin(bad: str) -> None:
    with pytest.raises(ValueError, match="FRAME_ANCESTORS"):
        frame_ancestors([bad])


def test_none_cannot_be_mixed() -> None:
    with pytest.raises(ValueError, match="'none'"):
        frame_ancestors(["none", "https://a.example"])


def test_x_frame_options_only_where_it_can_say_the_same() -> None:
    same = dict(page_headers(settings()))
    assert same["X-Frame-Options"] == "SAMEORIGIN"
    listed = dict(page_headers(settings(frame_ancestors=["self", "https://partner.example.com"])))
    assert "X-Frame-Options" not in listed
    assert listed["Content-Security-Policy"].endswith(
        "frame-ancestors 'self' https://partner.example.com"
    )
    assert dict(page_headers(settings(frame_ancestors=["none"])))["X-Frame-Options"] == "DENY"


def test_local_page_reaches_the_backend_beside_it() -> None:
    csp = directives(dict(page_headers(settings(port=8123)))["Content-Security-Policy"])
    for source in ("ws://localhost:8080", "ws://127.0.0.1:8123", "http://localhost:8123"):
        assert source in csp["connect-src"]
    assert CLOUD_STORAGE not in csp["media-src"]
    gcs = settings(media_backend="gcs", media_bucket="clips")
    assert (
        CLOUD_STORAGE in directives(dict(page_headers(gcs))["Content-Security-Policy"])["media-src"]
    )


def test_page_headers() -> None:
    headers = dict(page_headers(settings()))
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "microphone=(self)" in headers["Permissions-Policy"]
    assert "camera=(self)" in headers["Permissions-Policy"]
    assert "display-capture=(self)" in headers["Permissions-Policy"]


def test_hsts_only_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FIRESTORE_EMULATOR_HOST", "FIREBASE_AUTH_EMULATOR_HOST"):
        monkeypatch.delenv(name, raising=False)
    assert "Strict-Transport-Security" not in dict(api_headers(settings()))
    assert "Strict-Transport-Security" not in dict(page_headers(settings()))
    assert dict(api_headers(production()))["Strict-Transport-Security"] == HSTS
    assert dict(page_headers(production()))["Strict-Transport-Security"] == HSTS


def test_backend_headers_are_strict() -> None:
    headers = dict(api_headers(settings()))
    assert (
        headers["Content-Security-Policy"]
        == API_CSP
        == "default-src 'none'; frame-ancestors 'none'"
    )
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Frame-Options"] == "DENY"
