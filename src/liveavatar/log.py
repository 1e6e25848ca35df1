"""Log lines on stdout: JSON in Cloud Logging's shape, or readable lines on a terminal,
with a per-session context."""

from __future__ import annotations

import contextvars
import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

LogFormat = Literal["auto", "json", "text"]

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


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {
        key: value
        for key, value in vars(record).items()
        if key not in _RESERVED and key != "session_id" and not key.startswith("_")
    }


_COLOURS = {
    "DEBUG": "\x1b[2m",
    "WARNING": "\x1b[33m",
    "ERROR": "\x1b[31m",
    "CRITICAL": "\x1b[1;31m",
}
_RESET = "\x1b[0m"
_SHORT_NAMES = {"uvicorn.error": "uvicorn"}


class ReadableFormatter(logging.Formatter):
    """One short line per record for a person at a terminal (`liveavatar up`):

    `16:31:05 INFO  server.app  backend ready  live_backend=emulator store=sqlite`

    local time, severity, the logger without its `liveavatar.` prefix (uvicorn's
    "uvicorn.error" as "uvicorn": it logs its start-up there), the message, the
    same extra fields as the JSON lines as key=value, the session's first 8 characters,
    and a stack trace below the line. `colour` paints the severity (ANSI).
    """

    def __init__(self, *, colour: bool = False) -> None:
        super().__init__()
        self.colour = colour

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        severity = _SEVERITY.get(record.levelno, "DEFAULT")
        label = f"{severity:<5}"
        if self.colour and severity in _COLOURS:
            label = f"{_COLOURS[severity]}{label}{_RESET}"
        # uvicorn logs its start-up and its errors alike under "uvicorn.error".
        name = _SHORT_NAMES.get(record.name, record.name.removeprefix("liveavatar."))
        parts = [when, label, name, " " + record.getMessage()]
        extras = [f"{k}={_short(v)}" for k, v in _fields(record).items()]
        sid = getattr(record, "session_id", None) or session_id_var.get()
        if sid:
            extras.append(f"session={str(sid)[:8]}")
        if extras:
            parts.append(" " + " ".join(extras))
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _short(value: object) -> str:
    text = str(value)
    return json.dumps(text) if not text or any(c.isspace() or c == "=" for c in text) else text


def choose_format(
    wanted: LogFormat, *, production: bool, stream: TextIO | None = None
) -> Literal["json", "text"]:
    """JSON in production whatever is asked (Cloud Logging parses it), else what LOG_FORMAT
    asks; `auto` is readable lines on a terminal and JSON anywhere else (a pipe, a file, a
    container's log collector)."""
    if production or wanted == "json":
        return "json"
    if wanted == "text":
        return "text"
    isatty = getattr(stream or sys.stdout, "isatty", None)
    return "text" if isatty is not None and isatty() else "json"


def configure_logging(
    level: str = "INFO", *, fmt: LogFormat = "json", production: bool = False
) -> None:
    """Install the formatter `choose_format` picks on the root logger; called only by
    entry points."""
    handler = logging.StreamHandler(sys.stdout)
    if choose_format(fmt, production=production) == "text":
        colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ
        handler.setFormatter(ReadableFormatter(colour=colour))
    else:
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
