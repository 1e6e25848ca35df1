"""JSON log lines on stdout in Cloud Logging's shape, with a per-session context."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

session_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "session_id", default=None
)

_SEVERITY = {
    logging.DEBUG: "DEBUG",
    logging.INFO: "INFO",
    logging.WARNING: "WARNING",
    logging.ERROR: "ERROR",
    logging.CRITICAL: "CRITICAL",
}
# uvicorn adds an ANSI-coloured copy of each message; it is noise in JSON logs.
_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",
}


class CloudJsonFormatter(logging.Formatter):
    """Formats a record as one JSON object with `severity`, `message` and `session_id`.

    Extra attributes passed with `extra=` become top-level fields, so structured values
    (close codes, durations) stay queryable in Cloud Logging.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": _SEVERITY.get(record.levelno, "DEFAULT"),
            "message": record.getMessage(),
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "logger": record.name,
        }
        sid = getattr(record, "session_id", None) or session_id_var.get()
        if sid:
            entry["session_id"] = sid
        for key, value in vars(record).items():
            if key not in _RESERVED and key not in entry and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["stack_trace"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str = "INFO") -> None:
    """Install the JSON formatter on the root logger; called only by entry points."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(CloudJsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # The websockets library logs every refused handshake at ERROR with a traceback; the
    # emulator logs one line per refusal itself.
    logging.getLogger("websockets").setLevel(logging.CRITICAL)


class ClientFaultFilter(logging.Filter):
    """Turns what uvicorn logs as a server error, but is a browser's fault, into a warning.

    uvicorn's WebSocket layer logs a text frame that is not UTF-8 at ERROR with a stack
    trace (and closes with 1007): any page could then raise the error rate and fill the
    error reports at will. Attached to the `uvicorn.error` logger
    (`install_uvicorn_filters`).
    """

    NOT_UTF8 = "Invalid UTF-8 sequence received from client."

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == self.NOT_UTF8:
            record.msg = "A text frame was not UTF-8; the socket was closed with 1007."
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info, record.exc_text = None, None
        return True


class QueryRedaction(logging.Filter):
    """Drops the query from the request paths uvicorn logs (access lines, WebSocket
    handshakes): a signed media URL's signature, or a credential someone put in a URL,
    must not reach the logs. The path stays."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_without_query(arg) for arg in record.args)
        return True


def _without_query(arg: object) -> object:
    if isinstance(arg, str) and arg.startswith("/") and "?" in arg:
        return arg.partition("?")[0] + "?<redacted>"
    return arg


class FrameDumps(logging.Filter):
    """Drops the WebSocket library's DEBUG dump of every frame (`< TEXT '{"type": ...'`):
    frames carry ID tokens, browser keys and what people say, and LOG_LEVEL=DEBUG must
    not put them in the logs."""

    DUMPS = ("< %s", "> %s")

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.levelno == logging.DEBUG and record.msg in self.DUMPS)


def install_uvicorn_filters() -> None:
    """Attach the filters above to uvicorn's loggers, once (idempotent)."""
    for name, kinds in (
        ("uvicorn.error", (ClientFaultFilter, QueryRedaction, FrameDumps)),
        ("uvicorn.access", (QueryRedaction,)),
    ):
        target = logging.getLogger(name)
        for kind in kinds:
            if not any(type(f) is kind for f in target.filters):
                target.addFilter(kind())
