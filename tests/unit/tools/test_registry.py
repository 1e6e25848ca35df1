"""Tests for the tool registry: validation, timeouts, failures and declarations."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from liveavatar.live.tools import FunctionSpec
from liveavatar.tools.registry import (
    MAX_STRING_CHARS,
    Tool,
    ToolRegistry,
    ToolUserError,
)

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "text": {"type": "string", "description": "anything"},
        "count": {"type": "integer"},
        "ratio": {"type": "number"},
        "loud": {"type": "boolean"},
        "mood": {"type": "string", "enum": ["happy", "sad"]},
        "tags": {"type": "array", "items": {"type": "string"}},
        "where": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
    "required": ["text"],
    "additionalProperties": False,
}


class Recorder:
    """A handler that records its calls and returns a fixed output (or its arguments)."""

    def __init__(self, output: Any = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.output = output

    async def __call__(self, args: dict[str, Any]) -> Any:
        self.calls.append(args)
        return args if self.output is None else self.output


def make_tool(handler: Any, name: str = "echo", **kwargs: Any) -> Tool:
    return Tool(
        name=name, description="Echo the arguments", parameters=SCHEMA, handler=handler, **kwargs
    )


async def test_valid_call_returns_output() -> None:
    handler = Recorder()
    registry = ToolRegistry([make_tool(handler)])
    args = {"text": "hi", "count": 2, "ratio": 0.5, "loud": True, "mood": "happy"}
    result = await registry.call("echo", args)
    assert result.ok
    assert result.response == {"output": args}
    assert result.duration_ms >= 0
    assert handler.calls == [args]


async def test_none_args_mean_no_arguments() -> None:
    handler = Recorder(output="done")
    schema = {"type": "object", "properties": {}}
    tool = Tool(name="noop", description="Nothing", parameters=schema, handler=handler)
    result = await ToolRegistry([tool]).call("noop", None)
    assert result.response == {"output": "done"}
    assert handler.calls == [{}]


async def test_unknown_tool() -> None:
    result = await ToolRegistry().call("nope", {})
    assert not result.ok
    assert result.response == {"error": "unknown tool: nope"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({}, "missing required 'text'"),
        ({"text": 3}, "'text' must be a string"),
        ({"text": "a", "count": "3"}, "'count' must be an integer"),
        ({"text": "a", "count": True}, "'count' must be an integer"),
        ({"text": "a", "count": 1.5}, "'count' must be an integer"),
        ({"text": "a", "ratio": "0.5"}, "'ratio' must be a number"),
        ({"text": "a", "ratio": False}, "'ratio' must be a number"),
        ({"text": "a", "loud": 1}, "'loud' must be a boolean"),
        ({"text": "a", "mood": "angry"}, '\'mood\' must be one of "happy", "sad"'),
        ({"text": "a", "tags": "x"}, "'tags' must be an array"),
        ({"text": "a", "tags": ["x", 2]}, "'tags[1]' must be a string"),
        ({"text": "a", "where": []}, "'where' must be an object"),
        ({"text": "a", "where": {}}, "missing required 'where.city'"),
        ({"text": "a", "where": {"city": "P", "zip": 1}}, "unexpected argument 'where.zip'"),
        ({"text": "a", "extra": 1}, "unexpected argument 'extra'"),
        (["text"], "arguments must be an object"),
    ],
)
async def test_invalid_arguments_never_reach_the_handler(args: Any, message: str) -> None:
    handler = Recorder()
    result = await ToolRegistry([make_tool(handler)]).call("echo", args)
    assert not result.ok
    assert result.response == {"error": f"invalid arguments: {message}"}
    assert handler.calls == []


async def test_number_accepts_integers_and_integral_floats_become_ints() -> None:
    handler = Recorder()
    result = await ToolRegistry([make_tool(handler)]).call(
        "echo", {"text": "a", "ratio": 2, "count": 3.0}
    )
    assert result.ok
    assert handler.calls == [{"text": "a", "ratio": 2, "count": 3}]
    assert type(handler.calls[0]["count"]) is int


async def test_additional_properties_pass_through_unless_forbidden() -> None:
    handler = Recorder()
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    tool = Tool(name="open", description="Open schema", parameters=schema, handler=handler)
    result = await ToolRegistry([tool]).call("open", {"a": "x", "b": [1]})
    assert result.ok
    assert handler.calls == [{"a": "x", "b": [1]}]


async def test_timeout() -> None:
    never = asyncio.Event()

    async def stuck(args: dict[str, Any]) -> str:
        await never.wait()
        return "unreachable"

    registry = ToolRegistry([make_tool(stuck, timeout_s=0.05)])
    result = await registry.call("echo", {"text": "a"})
    assert not result.ok
    assert result.response == {"error": "timed out after 0.05s"}


async def test_handler_timeout_error_is_a_failure_not_our_timeout() -> None:
    async def raises(args: dict[str, Any]) -> str:
        raise TimeoutError("upstream")

    result = await ToolRegistry([make_tool(raises)]).call("echo", {"text": "a"})
    assert result.response == {"error": "failed"}


async def test_handler_exception_is_logged_not_leaked(caplog: pytest.LogCaptureFixture) -> None:
    async def broken(args: dict[str, Any]) -> str:
        raise RuntimeError("password=hunter2")

    with caplog.at_level(logging.ERROR, logger="liveavatar.tools.registry"):
        result = await ToolRegistry([make_tool(broken, name="broken")]).call(
            "broken", {"text": "a"}
        )
    assert not result.ok
    assert result.response == {"error": "failed"}
    assert "hunter2" not in repr(result)
    [record] = caplog.records
    assert "broken" in record.getMessage()
    assert record.exc_info is not None
    assert "hunter2" in caplog.text  # the traceback is in the log, for the operator


async def test_user_error_message_passes_through() -> None:
    async def refuses(args: dict[str, Any]) -> str:
        raise ToolUserError("no such city: Atlantis")

    result = await ToolRegistry([make_tool(refuses)]).call("echo", {"text": "a"})
    assert not result.ok
    assert result.response == {"error": "no such city: Atlantis"}


async def test_cancellation_propagates() -> None:
    started = asyncio.Event()
    never = asyncio.Event()

    async def waits(args: dict[str, Any]) -> str:
        started.set()
        await never.wait()
        return "unreachable"

    registry = ToolRegistry([make_tool(waits, timeout_s=30)])
    task = asyncio.create_task(registry.call("echo", {"text": "a"}))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.parametrize("output", [object(), {1: "int key"}, float("nan"), {"a": {b"x"}}])
async def test_output_must_be_json(output: Any) -> None:
    result = await ToolRegistry([make_tool(Recorder(output=output))]).call("echo", {"text": "a"})
    assert result.response == {"error": "output is not JSON-serialisable"}


async def test_long_output_is_truncated() -> None:
    handler = Recorder(output={"page": "x" * 20_000, "items": ("a", 1, None)})
    result = await ToolRegistry([make_tool(handler)]).call("echo", {"text": "a"})
    assert result.ok
    output = result.response["output"]
    assert len(output["page"]) == MAX_STRING_CHARS
    assert output["page"].endswith("…")
    assert output["items"] == ["a", 1, None]


async def test_oversized_output_is_refused() -> None:
    handler = Recorder(output=["y" * 5000] * 10)
    result = await ToolRegistry([make_tool(handler)]).call("echo", {"text": "a"})
    assert result.response == {"error": "output too large"}


def test_register_rejects_duplicates_and_keeps_order() -> None:
    registry = ToolRegistry([make_tool(Recorder(), name="b")])
    registry.register(make_tool(Recorder(), name="a"))
    assert registry.names() == ["b", "a"]
    with pytest.raises(ValueError, match="duplicate"):
        registry.register(make_tool(Recorder(), name="a"))


@pytest.mark.parametrize("name", ["", "1abc", "has space", "dash-name", "x" * 65, "émoji"])
def test_tool_name_is_validated(name: str) -> None:
    with pytest.raises(ValueError, match="invalid tool name"):
        make_tool(Recorder(), name=name)


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string"},
        {"type": "object", "properties": {"a": {"type": "date"}}},
        {"type": "object", "properties": {"a": {"type": "integer", "minimum": 0}}},
        {"type": "object", "properties": {}, "required": ["ghost"]},
        {"type": "object", "properties": {"a": {"type": "string", "enum": []}}},
        {"type": "object", "additionalProperties": {"type": "string"}},
    ],
)
def test_unsupported_schemas_are_refused(schema: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Tool(name="t", description="d", parameters=schema, handler=Recorder())


def test_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="timeout_s"):
        make_tool(Recorder(), timeout_s=0)


def test_declarations_are_our_own_specs_with_the_schema() -> None:
    slow = Tool(
        name="lookup",
        description="Look it up",
        parameters=SCHEMA,
        handler=Recorder(),
        non_blocking=True,
        scheduling="INTERRUPT",
    )
    registry = ToolRegistry([make_tool(Recorder()), slow])
    assert registry.declarations() == [
        FunctionSpec("echo", "Echo the arguments", SCHEMA, non_blocking=False),
        FunctionSpec("lookup", "Look it up", SCHEMA, non_blocking=True),
    ]
    assert registry.scheduling("lookup") == "INTERRUPT"
    assert registry.scheduling("echo") == "WHEN_IDLE"  # the default
    assert registry.scheduling("nonexistent") == "WHEN_IDLE"


def test_scheduling_must_be_one_the_service_knows() -> None:
    with pytest.raises(ValueError, match="scheduling"):
        Tool(
            name="t",
            description="d",
            parameters=SCHEMA,
            handler=Recorder(),
            scheduling="INTERRUPTED",  # type: ignore[arg-type]  # the 3.8 page's misspelling
        )
