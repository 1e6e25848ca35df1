"""The JSON log lines, and what uvicorn logs about browsers' faults."""

from __future__ import annotations

import json
import logging
import sys

from liveavatar.log import ClientFaultFilter, CloudJsonFormatter


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


def test_install_adds_the_filter_once() -> None:
    ClientFaultFilter.install()
    ClientFaultFilter.install()
    filters = logging.getLogger("uvicorn.error").filters
    assert sum(isinstance(f, ClientFaultFilter) for f in filters) == 1
