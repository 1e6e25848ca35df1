"""The backend's error hierarchy and the one place it becomes browser errors and close codes."""

from __future__ import annotations

from dataclasses import dataclass

from liveavatar.protocol import ErrorCode

# WebSocket close codes sent to the browser (documented in docs/API.md).
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_POLICY = 1008  # origin not allowed
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL = 1011
CLOSE_TRY_AGAIN = 1013  # server overloaded
# The backend ends a healthy socket on purpose (its age limit, under the platform's request
# timeout; or this instance is draining): the page reconnects at once, quietly, and resumes.
CLOSE_RECONNECT = 4000
CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_HELLO_TIMEOUT = 4408
CLOSE_REPLACED = 4409  # the same session was resumed by a newer connection
CLOSE_UNSUPPORTED_VERSION = 4426
CLOSE_RATE_LIMITED = 4429
CLOSE_QUOTA_EXCEEDED = 4430
CLOSE_LIVE_REFUSED = 4502
CLOSE_LIVE_UNAVAILABLE = 4503

# The reasons sent with CLOSE_RECONNECT (for logs and developer tools: the page acts on the code).
REASON_SOCKET_AGE = "socket age limit; reconnect and resume"
REASON_DRAINING = "server draining; reconnect and resume"


@dataclass(frozen=True)
class ClientFault:
    """How an error reaches the browser: a typed error message and, if fatal, a close."""

    code: ErrorCode
    close_code: int | None  # None: the session goes on


class AvatarError(Exception):
    """Base of every error the backend raises on purpose; the message is safe to show."""

    fault = ClientFault("internal", CLOSE_INTERNAL)


class ProtocolError(AvatarError):
    """The browser broke the protocol (bad JSON, unknown type, oversized frame...)."""

    fault = ClientFault("bad_request", CLOSE_BAD_REQUEST)


class RecoverableProtocolError(ProtocolError):
    """Bad input the session survives: the browser is told and the session goes on."""

    fault = ClientFault("bad_request", None)


class Flooding(ProtocolError):
    """The browser kept sending JSON frames faster than the documented rate (bridge/flood.py)."""


class BrowserNotReading(ProtocolError):
    """The browser stopped reading: its control messages piled up past the outbox's bound.

    A client fault (a stalled page or network), not a bug: the session closes with 4400.
    """


class UnsupportedVersion(ProtocolError):
    fault = ClientFault("unsupported_version", CLOSE_UNSUPPORTED_VERSION)


class HelloTimeout(ProtocolError):
    fault = ClientFault("bad_request", CLOSE_HELLO_TIMEOUT)


class Unauthorized(AvatarError):
    fault = ClientFault("unauthorized", CLOSE_UNAUTHORIZED)


class Forbidden(AvatarError):
    fault = ClientFault("forbidden", CLOSE_FORBIDDEN)


class RateLimited(AvatarError):
    fault = ClientFault("rate_limited", CLOSE_RATE_LIMITED)


class QuotaExceeded(AvatarError):
    fault = ClientFault("quota_exceeded", CLOSE_QUOTA_EXCEEDED)


class LiveRefused(AvatarError):
    """Live refused the session for a reason retrying cannot fix (bad key, unknown model)."""

    fault = ClientFault("live_refused", CLOSE_LIVE_REFUSED)


class LiveUnavailable(AvatarError):
    """Live could not be reached after retries."""

    fault = ClientFault("live_unavailable", CLOSE_LIVE_UNAVAILABLE)


class TurnDetectionUnavailable(AvatarError):
    """The persona asks for smart turn detection and its model files are not installed
    (turn/models.py): the session is refused rather than run with another detector."""


class ToolFailed(AvatarError):
    fault = ClientFault("tool_failed", None)
