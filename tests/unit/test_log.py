"""The JSON log lines, and what uvicorn logs about browsers' faults."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from liveavatar.log import (
    ClientFaultFilter,
    CloudJsonFormatter,
    FrameDumps,
    QueryRedaction,
    install_uvicorn_filters,
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
