"""A failed Live open is logged with its cause, and never with a credential."""

from __future__ import annotations

import ssl

import pytest
from google.auth import exceptions as auth_errors
from google.genai import errors
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosedError, InvalidStatus
from websockets.frames import Close
from websockets.http11 import Response

from liveavatar.live.causes import auth_failure_is_permanent, open_failure, redact
from liveavatar.live.connection import LiveOpenError

KEY = "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW"
TOKEN = "ya29.a0AfB_byC-secret-token-value"


@pytest.mark.parametrize(
    "text",
    [
        f"wss://generativelanguage.googleapis.com/ws/x.BidiGenerateContent?key={KEY}",
        "wss://h/ws/x.BidiGenerateContentConstrained?alt=json&access_token=auth_tokens/abc123",
        f"Authorization: Bearer {TOKEN}",
        f"headers {{'x-goog-api-key': '{KEY}'}}",
        "x-goog-api-key: not-shaped-like-a-key",
        '{"access_token": "opaque-1", "refresh_token": "1//opaque-2"}',
        "grant_type=refresh_token&client_secret=GOCSPX-opaque&refresh_token=1//opaque-3",
        f"a key pasted into a message: {KEY}",
    ],
)
def test_redact_removes_every_credential(text: str) -> None:
    out = redact(text)
    for secret in (KEY, TOKEN, "auth_tokens/abc123", "opaque", "not-shaped-like-a-key"):
        assert secret not in out
    assert "[redacted]" in out


def test_redact_keeps_ordinary_text() -> None:
    text = "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer"
    assert redact(text) == text
    assert redact("the token endpoint did not answer") == "the token endpoint did not answer"


def _raised(cause: BaseException, **kwargs: bool) -> LiveOpenError:
    try:
        try:
            raise cause
        except BaseException as exc:
            raise LiveOpenError("Live said no", permanent=kwargs.get("permanent", False)) from exc
    except LiveOpenError as outer:
        return outer


def test_http_refusal_gives_status_and_body() -> None:
    body = b'{"error": {"code": 403, "message": "API key not valid. Please pass a valid API key."}}'
    response = Response(403, "Forbidden", Headers(), body)
    fields = open_failure(_raised(InvalidStatus(response), permanent=True))
    assert fields["error_type"] == "InvalidStatus"
    assert fields["http_status"] == 403
    assert "API key not valid" in fields["detail"]
    assert fields["permanent"] is True and fields["error"] == "Live said no"


def test_close_during_setup_gives_code_and_reason() -> None:
    closed = ConnectionClosedError(Close(1008, "models/x is not found for API version v1"), None)
    fields = open_failure(_raised(closed))
    assert (fields["close_code"], fields["close_reason"]) == (
        1008,
        "models/x is not found for API version v1",
    )


def test_sdk_close_gives_code_and_reason() -> None:
    fields = open_failure(_raised(errors.APIError(1011, {"message": "Internal error occurred."})))
    assert fields["close_code"] == 1011
    assert "Internal error" in fields["close_reason"]


def test_tls_failure_names_the_verification_error() -> None:
    exc = ssl.SSLCertVerificationError(
        1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"
    )
    fields = open_failure(_raised(exc))
    assert fields["error_type"] == "SSLCertVerificationError"
    assert "certificate verify failed" in fields["detail"]


def test_a_cause_quoting_the_url_is_redacted() -> None:
    fields = open_failure(_raised(ValueError(f"bad URI wss://h/ws/path?key={KEY}")))
    assert KEY not in str(fields)


@pytest.mark.parametrize(
    ("exc", "permanent"),
    [
        (auth_errors.TransportError("connection refused"), False),  # type: ignore[no-untyped-call]
        (auth_errors.RefreshError("internal_failure", retryable=True), False),  # type: ignore[no-untyped-call]
        (auth_errors.RefreshError("invalid_grant: Bad Request"), True),  # type: ignore[no-untyped-call]
        (auth_errors.DefaultCredentialsError("no credentials found"), True),  # type: ignore[no-untyped-call]
    ],
)
def test_credential_failures_are_transient_unless_refused(
    exc: auth_errors.GoogleAuthError, permanent: bool
) -> None:
    assert auth_failure_is_permanent(exc) is permanent
