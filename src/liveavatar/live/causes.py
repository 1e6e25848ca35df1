"""Why opening a Live connection failed, as log fields that never carry a secret.

A failed open is logged with its cause: the exception underneath (`LiveOpenError` is
raised `from` it), the HTTP status of a refused handshake, or the close code and reason of
a refused setup. Credentials can hide in that text: the Gemini Developer API takes its key
in the URL query (`?key=`), ephemeral tokens ride as `?access_token=`, and token endpoint
errors may echo a request. `redact()` removes them before anything is logged.
"""

from __future__ import annotations

import re
from typing import Any

from google.auth.exceptions import DefaultCredentialsError, GoogleAuthError, TransportError
from google.genai import errors
from websockets.exceptions import ConnectionClosed, InvalidStatus

MAX_DETAIL = 300
_HIDDEN = "[redacted]"
_SECRET_NAMES = r"key|api_key|access_token|refresh_token|id_token|client_secret|token|assertion"
# `?key=…` / `&access_token=…` in URLs and form bodies.
_QUERY = re.compile(rf"(?i)([?&;](?:{_SECRET_NAMES})=)[^&#\s'\"]*")
# `"access_token": "…"`, `'client_secret': '…'` in JSON or a dict's repr.
_QUOTED = re.compile(
    rf"(?i)([\"']?\b(?:{_SECRET_NAMES}|x-goog-api-key)[\"']?\s*[:=]\s*[\"'])[^\"']*"
)
# Authorization header values and the x-goog-api-key header.
_SCHEME = re.compile(r"(?i)\b(bearer|basic)\s+[^\s'\",]+")
_HEADER = re.compile(r"(?i)(x-goog-api-key\s*[:=]\s*)[^\s'\",]+")
# Shapes of Google credentials wherever they appear: API keys, OAuth access tokens,
# ephemeral tokens.
_GOOGLE_KEY = re.compile(r"AIza[0-9A-Za-z_-]{20,}")
_OAUTH_TOKEN = re.compile(r"\bya29\.[0-9A-Za-z_.-]+")
_EPHEMERAL = re.compile(r"\bauth_tokens/[0-9A-Za-z_.-]+")


def redact(text: str) -> str:
    """`text` with every credential it may carry replaced by `[redacted]`."""
    text = _QUERY.sub(rf"\1{_HIDDEN}", text)
    text = _QUOTED.sub(rf"\1{_HIDDEN}", text)
    text = _SCHEME.sub(rf"\1 {_HIDDEN}", text)
    text = _HEADER.sub(rf"\1{_HIDDEN}", text)
    text = _GOOGLE_KEY.sub(_HIDDEN, text)
    text = _EPHEMERAL.sub(_HIDDEN, text)
    return _OAUTH_TOKEN.sub(_HIDDEN, text)


def auth_failure_is_permanent(exc: GoogleAuthError) -> bool:
    """Whether a credentials failure will recur on retry.

    An unreachable token endpoint (`TransportError`) and one that answered 5xx or 429
    (google-auth marks those `retryable`, after retrying them itself) are transient; no
    credentials at all, or credentials the endpoint refused (`invalid_grant`), are not.
    """
    if isinstance(exc, TransportError):
        return False
    if isinstance(exc, DefaultCredentialsError):
        return True
    return not exc.retryable


def open_failure(exc: BaseException) -> dict[str, Any]:
    """Log fields for a failed open: `error` (what the user is told), `error_type` and
    `detail` of the cause, `http_status`, or `close_code` and `close_reason`; redacted."""
    fields: dict[str, Any] = {"error": redact(str(exc))}
    for flag in ("permanent", "stalled"):
        if isinstance(getattr(exc, flag, None), bool):
            fields[flag] = getattr(exc, flag)
    cause = exc.__cause__ or exc
    fields["error_type"] = type(cause).__name__
    if isinstance(cause, InvalidStatus):
        response = cause.response
        fields["http_status"] = response.status_code
        body = response.body.decode("utf-8", "replace") if response.body else ""
        fields["detail"] = _detail(f"{response.reason_phrase} {body}")
    elif isinstance(cause, ConnectionClosed):
        frame = cause.rcvd
        fields["close_code"] = frame.code if frame is not None else 1006
        fields["close_reason"] = _detail(frame.reason if frame is not None else "")
    elif isinstance(cause, errors.APIError):
        # The SDK reports a close during setup as APIError(close code, reason).
        fields["close_code"] = cause.code
        fields["close_reason"] = _detail(str(cause.details or cause.message or ""))
    elif cause is not exc:
        fields["detail"] = _detail(str(cause))
    return fields


def _detail(text: str) -> str:
    return redact(" ".join(text.split()))[:MAX_DETAIL]
