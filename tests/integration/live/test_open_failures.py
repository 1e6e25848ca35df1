"""A Live open that fails is logged with its cause, by every client, without the key.

Against the real emulator: its self-signed certificate is in no default trust store, so a
client configured as production is (no `LIVE_CA_FILE`) must refuse it; with the
certificate trusted, a wrong key is refused with HTTP 403.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from google.genai import types
from pydantic import SecretStr

from liveavatar.errors import LiveRefused, LiveUnavailable
from liveavatar.live.connection import LiveChannel
from liveavatar.live.endpoint import endpoint_factory
from liveavatar.live.link import MAX_RECONNECTS, LiveLink, Opener
from liveavatar.live.openers import sdk_opener
from liveavatar.live.picows_client import PicowsLiveConnection
from liveavatar.live.raw import RawLiveConnection
from liveavatar.live.sdk_client import build_client
from liveavatar.log import CloudJsonFormatter
from liveavatar.settings import Settings
from tests.integration.conftest import StartEmulator

KEY = "AIzaSyOpenFailureTest-0123456789abcdef"
MODEL = "gemini-3.8-live"


def _settings(**values: Any) -> Settings:
    """Production's Gemini settings, aimed at the emulator: no CA file unless given."""
    key = SecretStr(KEY)
    return Settings(_env_file=None, live_backend="gemini", gemini_api_key=key, **values)  # type: ignore[call-arg]


def _opener(settings: Settings, client: str) -> Opener:
    """The product's opener for `client`, as `server/app.py` builds it."""
    if client == "sdk":
        sdk, _ = build_client(settings)
        config = types.LiveConnectConfig(response_modalities=[types.Modality.AUDIO])
        return sdk_opener(sdk, MODEL, lambda _handle: config)
    endpoint = endpoint_factory(settings)

    own = PicowsLiveConnection if client == "picows" else RawLiveConnection

    async def open_raw(_handle: str | None) -> LiveChannel:
        return await own.open(await endpoint(MODEL), {})

    return open_raw


async def _instantly(_delay: float) -> None:
    """The link's backoff, skipped: the attempts are what is under test, not the waits."""


def _failures(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage() == "Live connection attempt failed"]


@pytest.mark.parametrize("client", ["raw", "picows", "sdk"])
async def test_an_untrusted_certificate_is_refused_and_the_cause_logged(
    start_emulator: StartEmulator, caplog: pytest.LogCaptureFixture, client: str
) -> None:
    emulator = await start_emulator()
    settings = _settings(vertex_ai_endpoint=emulator.url)
    link = LiveLink(_opener(settings, client), name="test", sleep=_instantly)
    with caplog.at_level(logging.WARNING), pytest.raises(LiveUnavailable):
        await link.start()
    failures = _failures(caplog)
    assert len(failures) == MAX_RECONNECTS
    first = failures[0]
    assert getattr(first, "error_type") == "SSLCertVerificationError"  # noqa: B009
    # OpenSSL's words, as Python's ssl module or picows's own TLS layer spells them.
    detail = getattr(first, "detail").lower().replace("_", " ")  # noqa: B009
    assert "certificate verify failed" in detail
    assert getattr(first, "permanent") is False  # noqa: B009


@pytest.mark.parametrize("client", ["raw", "picows", "sdk"])
async def test_a_refused_key_is_logged_with_the_status_and_never_the_key(
    start_emulator: StartEmulator, caplog: pytest.LogCaptureFixture, client: str
) -> None:
    emulator = await start_emulator(api_key="the-right-key")
    settings = _settings(vertex_ai_endpoint=emulator.url, live_ca_file=emulator.cert_path)
    link = LiveLink(_opener(settings, client), name="test", sleep=_instantly)
    with caplog.at_level(logging.DEBUG), pytest.raises(LiveRefused):
        await link.start()
    (failure,) = _failures(caplog)
    assert getattr(failure, "http_status") == 403  # noqa: B009
    assert "API key not valid" in getattr(failure, "detail")  # noqa: B009
    assert getattr(failure, "permanent") is True  # noqa: B009
    # The product's own lines, at any level (`configure_logging` silences websockets'
    # handshake dumps, which print headers at DEBUG).
    formatter = CloudJsonFormatter()
    ours = [r for r in caplog.records if r.name.startswith("liveavatar.")]
    assert ours and not [r for r in ours if KEY in formatter.format(r)]
