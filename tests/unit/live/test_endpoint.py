"""Where our Live client connects and what it trusts, held to the google-genai SDK's rules."""

from __future__ import annotations

import datetime as dt
import json
import ssl
from pathlib import Path
from typing import Any

import pytest
from google import genai
from google.oauth2.credentials import Credentials

from liveavatar.emulator.tls import ensure_certificate
from liveavatar.live.endpoint import GEMINI_PATH, VERTEX_PATH, base_url, endpoint_factory
from liveavatar.live.trust import default_context
from liveavatar.settings import Settings


def _settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def _common_names(ctx: ssl.SSLContext) -> list[str]:
    """The CAs a context trusts (from files; a CA directory is read lazily, not listed)."""
    names = []
    for cert in ctx.get_ca_certs():
        subject: Any = cert["subject"]
        names += [value for rdn in subject for key, value in rdn if key == "commonName"]
    return names


def _sdk_base(location: str) -> str:
    creds = Credentials(token="unused")  # type: ignore[no-untyped-call]
    client = genai.Client(vertexai=True, project="p", location=location, credentials=creds)
    url = client._api_client._http_options.base_url
    assert url is not None
    return url.rstrip("/")


@pytest.mark.parametrize("location", ["us-central1", "europe-west4", "global", "us", "eu"])
def test_vertex_host_is_the_sdks(location: str) -> None:
    settings = _settings(live_backend="vertex", project_id="p", vertex_location=location)
    assert base_url(settings) == _sdk_base(location)


def test_global_location_has_no_region_prefix() -> None:
    settings = _settings(live_backend="vertex", project_id="p", vertex_location="global")
    assert base_url(settings) == "https://aiplatform.googleapis.com"


async def test_production_endpoint_verifies_against_the_default_trust_store() -> None:
    # The bug: no LIVE_CA_FILE meant `ssl=None`, which websockets refuses for wss://.
    settings = _settings(live_backend="gemini", gemini_api_key="AIzaSy-unit-test-key")
    endpoint = await endpoint_factory(settings)("gemini-3.8-live")
    assert endpoint.url == "wss://generativelanguage.googleapis.com" + GEMINI_PATH
    assert isinstance(endpoint.ssl, ssl.SSLContext)
    assert endpoint.ssl is default_context()
    assert endpoint.ssl.verify_mode == ssl.CERT_REQUIRED and endpoint.ssl.check_hostname


def test_default_trust_store_honours_ssl_cert_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, _ = ensure_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    assert "liveavatar emulator" in _common_names(default_context())


async def test_plain_ws_endpoint_gets_no_tls_context(tmp_path: Path) -> None:
    cert, _ = ensure_certificate(tmp_path)
    settings = _settings(vertex_ai_endpoint="http://127.0.0.1:9000", live_ca_file=cert)
    endpoint = await endpoint_factory(settings)("gemini-3.8-live")
    assert endpoint.url.startswith("ws://") and endpoint.ssl is None


async def test_the_emulator_is_reached_on_its_vertex_route_for_the_native_avatar(
    tmp_path: Path,
) -> None:
    cert, _ = ensure_certificate(tmp_path)
    settings = _settings(vertex_ai_endpoint="https://127.0.0.1:9000", live_ca_file=cert)
    avatar = await endpoint_factory(settings)("gemini-3.8-live", avatar=True)
    assert avatar.url == "wss://127.0.0.1:9000" + VERTEX_PATH and avatar.vertex
    assert avatar.model == (
        "projects/local-emulator/locations/us-central1/publishers/google/models/gemini-3.8-live"
    )
    audio = await endpoint_factory(settings)("gemini-3.8-live")
    assert audio.url.endswith(GEMINI_PATH) and not audio.vertex


async def test_configured_ca_file_is_trusted_instead(tmp_path: Path) -> None:
    cert, _ = ensure_certificate(tmp_path)
    settings = _settings(vertex_ai_endpoint="https://127.0.0.1:9000", live_ca_file=cert)
    endpoint = await endpoint_factory(settings)("gemini-3.8-live")
    assert endpoint.url == "wss://127.0.0.1:9000" + GEMINI_PATH
    assert endpoint.ssl is not None and endpoint.ssl is not default_context()
    assert _common_names(endpoint.ssl) == ["liveavatar emulator"]


async def test_vertex_handshake_carries_the_token_and_quota_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A token still valid for an hour: google-auth uses it without a refresh.
    expiry = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    adc = {
        "type": "authorized_user",
        "client_id": "unit-test-client",
        "client_secret": "unit-test-secret",
        "refresh_token": "unit-test-refresh",
        "token": "ya29.unit-test",
        "expiry": expiry.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "quota_project_id": "billing-project",
    }
    (tmp_path / "adc.json").write_text(json.dumps(adc))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "adc.json"))
    settings = _settings(live_backend="vertex", project_id="p", vertex_location="global")
    endpoint = await endpoint_factory(settings)("gemini-3.8-live")
    assert endpoint.url == "wss://aiplatform.googleapis.com" + VERTEX_PATH
    assert endpoint.model == "projects/p/locations/global/publishers/google/models/gemini-3.8-live"
    # As the SDK sends them (reference §1.1).
    assert endpoint.headers == {
        "Authorization": "Bearer ya29.unit-test",
        "x-goog-user-project": "billing-project",
    }
