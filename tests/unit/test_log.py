"""The JSON log lines, and what uvicorn logs about browsers' faults."""

from __future__ import annotations

import io
import json
import logging
import re
import sys

import pytest

from liveavatar.log import (
    ClientFaultFilter,
    CloudJsonFormatter,
    FrameDumps,
    LogFormat,
    QueryRedaction,
    ReadableFormatter,
    choose_format,
    configure_logging,
    install_uvicorn_filters,
    session_id_var,
)


def uvicorn_not_utf8_record() -> logging.LogRecord:
    """What uvicorn's `logger.exception` makes of a text frame that is not UTF-8."""
    try:
        b"\xff".decode()
    except UnicodeDecodeError:
        exc_info = sys.exc_info()
    return logging.LogRecord(
        "uvicorn.error", logging.ERROR, __file__, 1, ClientFaultFilter.NOT_UTF8, (), exc_info
    )


def test_a_frame_that_is_not_utf8_is_a_warning_without_a_stack_trace() -> None:
    record = uvicorn_not_utf8_record()
    assert ClientFaultFilter().filter(record)
    line = json.loads(CloudJsonFormatter().format(record))
    assert line["severity"] == "WARNING"
    assert "1007" in line["message"]
    assert "stack_trace" not in line


def test_other_uvicorn_errors_stay_errors() -> None:
    record = logging.LogRecord(
        "uvicorn.error", logging.ERROR, __file__, 1, "Exception in ASGI application\n", (), None
    )
    assert ClientFaultFilter().filter(record)
    assert record.levelno == logging.ERROR


@pytest.mark.parametrize(
    ("msg", "args", "expected"),
    [
        (
            '%s - "%s %s HTTP/%s" %d',
            ("127.0.0.1:5", "GET", "/media/a.mp4?exp=1&sig=abc", "1.1", 200),
            '127.0.0.1:5 - "GET /media/a.mp4?<redacted> HTTP/1.1" 200',
        ),
        (
            '%s - "WebSocket %s" [accepted]',
            ("127.0.0.1:5", "/ws?token=abc"),
            '127.0.0.1:5 - "WebSocket /ws?<redacted>" [accepted]',
        ),
        ('%s - "%s %s HTTP/%s" %d', ("1.2.3.4:5", "GET", "/healthz", "1.1", 200), None),
    ],
)
def test_request_paths_are_logged_without_their_query(
    msg: str, args: tuple[object, ...], expected: str | None
) -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, msg, args, None)
    before = record.getMessage()
    assert QueryRedaction().filter(record)
    assert record.getMessage() == (expected or before)


def test_frame_dumps_are_dropped_and_other_debug_lines_kept() -> None:
    def record(msg: str, *args: object) -> logging.LogRecord:
        return logging.LogRecord("uvicorn.error", logging.DEBUG, __file__, 1, msg, args, None)

    assert not FrameDumps().filter(record("< %s", 'TEXT \'{"token": "eyJ..."}\''))
    assert not FrameDumps().filter(record("> %s", "BINARY 00 00 [640 bytes]"))
    assert FrameDumps().filter(record("> HTTP/1.1 %d %s", 101, "Switching Protocols"))


def test_the_filters_are_installed_once() -> None:
    install_uvicorn_filters()
    install_uvicorn_filters()
    for name, kinds in (
        ("uvicorn.error", {ClientFaultFilter: 1, QueryRedaction: 1, FrameDumps: 1}),
        ("uvicorn.access", {QueryRedaction: 1}),
    ):
        filters = logging.getLogger(name).filters
        assert {k: sum(type(f) is k for f in filters) for k in kinds} == kinds


# ---- the local console ----------------------------------------------------------------------


class _Stream(io.StringIO):
    def __init__(self, *, tty: bool) -> None:
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


@pytest.mark.parametrize(
    ("wanted", "production", "tty", "expected"),
    [
        ("auto", False, True, "text"),
        ("auto", False, False, "json"),
        ("auto", True, True, "json"),
        ("text", True, True, "json"),
        ("text", False, False, "text"),
        ("json", False, True, "json"),
    ],
)
def test_readable_lines_on_a_terminal_json_elsewhere_and_always_in_production(
    wanted: LogFormat, production: bool, tty: bool, expected: str
) -> None:
    stream = _Stream(tty=tty)
    assert choose_format(wanted, production=production, stream=stream) == expected


def record_with(msg: str, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("liveavatar.server.app", logging.INFO, __file__, 1, msg, (), None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_a_readable_line_has_the_time_severity_source_message_and_fields() -> None:
    record = record_with("backend ready", live_backend="emulator", auth=False, note="two words")
    line = ReadableFormatter().format(record)
    assert re.fullmatch(
        r"\d\d:\d\d:\d\d INFO  server\.app  backend ready  "
        r'live_backend=emulator auth=False note="two words"',
        line,
    ), line
    assert "\x1b" not in line


def test_a_readable_line_names_the_session_and_carries_the_stack_trace() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        exc_info = sys.exc_info()
    record = logging.LogRecord(
        "liveavatar.bridge", logging.ERROR, __file__, 1, "turn failed", (), exc_info
    )
    token = session_id_var.set("0123456789abcdef")
    try:
        text = ReadableFormatter(colour=True).format(record)
    finally:
        session_id_var.reset(token)
    first, *rest = text.splitlines()
    assert "\x1b[31mERROR\x1b[0m" in first
    assert first.endswith("turn failed  session=01234567")
    assert rest[0].startswith("Traceback") and rest[-1] == "ValueError: boom"


def test_configure_logging_installs_the_chosen_formatter(monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        monkeypatch.setattr(sys, "stdout", _Stream(tty=True))
        configure_logging("INFO", fmt="auto")
        assert isinstance(root.handlers[0].formatter, ReadableFormatter)
        configure_logging("INFO", fmt="auto", production=True)
        assert isinstance(root.handlers[0].formatter, CloudJsonFormatter)
        monkeypatch.setattr(sys, "stdout", _Stream(tty=False))
        configure_logging("INFO", fmt="auto")
        assert isinstance(root.handlers[0].formatter, CloudJsonFormatter)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


def test_uvicorns_start_up_lines_are_not_labelled_as_errors() -> None:
    record = logging.LogRecord(
        "uvicorn.error", logging.INFO, __file__, 1, "Application startup complete.", (), None
    )
    assert " INFO  uvicorn  Application startup complete." in ReadableFormatter().format(record)
