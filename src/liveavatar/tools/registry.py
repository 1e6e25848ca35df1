"""Server-side tools for Live function calls: declaration, argument checks and safe execution."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, get_args

from liveavatar.live.tools import FunctionSpec, Scheduling

logger = logging.getLogger(__name__)

ToolHandler = Callable[[dict[str, Any]], Awaitable[Any]]

_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]{0,63}")
_TYPES = frozenset({"string", "integer", "number", "boolean", "array", "object"})
# Keywords the validator enforces, plus annotations it may safely ignore. Anything else
# (minimum, pattern, format...) is refused at construction: the model might honour it,
# but a constraint the server silently skips is worse than one that was never written.
_ENFORCED = frozenset({"type", "properties", "required", "additionalProperties", "enum", "items"})
_ANNOTATIONS = frozenset({"description", "title", "default", "examples"})

# A tool reply travels inside one toolResponse message on the Live socket, next to audio;
# these caps keep a chatty tool from producing a message the model (or socket) chokes on.
MAX_STRING_CHARS = 8000
MAX_LIST_ITEMS = 200
MAX_DEPTH = 16
MAX_RESPONSE_CHARS = 32_000
MAX_ERROR_CHARS = 300
_ELLIPSIS = "…"


class ToolUserError(Exception):
    """Raised by a handler for an expected failure; its message is returned to the model.

    Any other exception is treated as a bug: logged with its traceback and reported to the
    model only as "failed", so internal details never reach the conversation.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Tool:
    """A function the model may call: its declaration and the coroutine that runs it.

    `non_blocking`: a slow tool (a lookup), declared NON_BLOCKING where the model allows
    it, so the avatar keeps talking while it runs; its answer is then folded in by
    `scheduling` (reference §13.2): `WHEN_IDLE` speaks after the current output,
    `INTERRUPT` cuts it off, `SILENT` only adds to the context.
    """

    name: str
    description: str
    parameters: dict[str, Any]
    handler: ToolHandler
    timeout_s: float = 5.0
    non_blocking: bool = False
    scheduling: Scheduling = "WHEN_IDLE"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME_RE.fullmatch(self.name):
            raise ValueError(f"invalid tool name {self.name!r}: use [a-zA-Z_][a-zA-Z0-9_]{{0,63}}")
        if not self.description.strip():
            raise ValueError(f"tool {self.name}: description is empty")
        if not (math.isfinite(self.timeout_s) and self.timeout_s > 0):
            raise ValueError(f"tool {self.name}: timeout_s must be a positive number")
        if self.scheduling not in get_args(Scheduling):
            raise ValueError(f"tool {self.name}: scheduling must be one of {get_args(Scheduling)}")
        if self.parameters.get("type") != "object":
            raise ValueError(f"tool {self.name}: parameters must be a schema of type 'object'")
        _check_schema(self.parameters, f"tool {self.name} parameters")


@dataclass(frozen=True)
class ToolResult:
    """The outcome of one call: the `response` for FunctionResponse and how it went."""

    response: dict[str, Any]
    ok: bool
    duration_ms: float


class ToolRegistry:
    """The tools of one avatar, declared to Live and run when Live calls them."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools:
            self.register(tool)

    def register(self, tool: Tool) -> None:
        """Add `tool`; a second tool with the same name is a ValueError."""
        if tool.name in self._tools:
            raise ValueError(f"duplicate tool name: {tool.name}")
        self._tools[tool.name] = tool

    def names(self) -> list[str]:
        """Tool names in registration order."""
        return list(self._tools)

    def declarations(self) -> list[FunctionSpec]:
        """The declarations to put in the Live session's `tools` config."""
        return [
            FunctionSpec(tool.name, tool.description, tool.parameters, tool.non_blocking)
            for tool in self._tools.values()
        ]

    def scheduling(self, name: str) -> Scheduling:
        """How the answer of a NON_BLOCKING call of `name` is to be folded in."""
        tool = self._tools.get(name)
        return tool.scheduling if tool is not None else "WHEN_IDLE"

    async def call(self, name: str, args: dict[str, Any] | None) -> ToolResult:
        """Run tool `name` with `args`; every failure becomes an `{"error": ...}` result.

        Only cancellation propagates, so a caller running this as its own task can drop
        the call (e.g. on toolCallCancellation) without a stray result being sent.
        """
        start = time.perf_counter()
        tool = self._tools.get(name)
        if tool is None:
            return _error(f"unknown tool: {_clip(str(name), 64)}", start)
        try:
            checked = _check_value(tool.parameters, {} if args is None else args, "")
        except _ArgumentError as exc:
            return _error(f"invalid arguments: {exc}", start)

        try:
            async with asyncio.timeout(tool.timeout_s) as deadline:
                output = await tool.handler(checked)
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            # A TimeoutError the handler raised itself (not our deadline) is just a failure.
            if deadline.expired():
                logger.warning("tool %s timed out after %gs", name, tool.timeout_s)
                return _error(f"timed out after {tool.timeout_s:g}s", start)
            logger.exception("tool %s failed", name, extra={"tool": name})
            return _error("failed", start)
        except ToolUserError as exc:
            logger.info("tool %s refused: %s", name, exc.message, extra={"tool": name})
            return _error(_clip(exc.message, MAX_ERROR_CHARS) or "failed", start)
        except Exception:
            logger.exception("tool %s failed", name, extra={"tool": name})
            return _error("failed", start)

        try:
            capped = _cap(output, 0)
        except (TypeError, ValueError):
            logger.exception("tool %s returned output that is not JSON", name)
            return _error("output is not JSON-serialisable", start)
        if len(json.dumps(capped, ensure_ascii=False)) > MAX_RESPONSE_CHARS:
            logger.warning("tool %s output exceeds %d chars", name, MAX_RESPONSE_CHARS)
            return _error("output too large", start)
        return ToolResult({"output": capped}, ok=True, duration_ms=_elapsed_ms(start))


def _elapsed_ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


def _error(message: str, start: float) -> ToolResult:
    return ToolResult({"error": message}, ok=False, duration_ms=_elapsed_ms(start))


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + _ELLIPSIS


def _cap(value: Any, depth: int) -> Any:
    """A JSON-ready copy of `value` with long strings and lists shortened.

    Raises TypeError for values JSON cannot represent and ValueError for NaN/infinity.
    """
    if depth > MAX_DEPTH:
        raise ValueError("output nested too deeply")
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("output contains a non-finite number")
        return value
    if isinstance(value, str):
        return _clip(value, MAX_STRING_CHARS)
    if isinstance(value, list | tuple):
        return [_cap(item, depth + 1) for item in value[:MAX_LIST_ITEMS]]
    if isinstance(value, dict):
        capped: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"output has a non-string key of type {type(key).__name__}")
            capped[key] = _cap(item, depth + 1)
        return capped
    raise TypeError(f"output contains a {type(value).__name__}")


class _ArgumentError(Exception):
    """Arguments do not match the schema; the message says where, without echoing values."""


def _check_schema(schema: Any, where: str) -> None:
    """Refuse schemas outside the subset `_check_value` enforces."""
    if not isinstance(schema, dict):
        raise ValueError(f"{where}: schema must be an object")
    unknown = set(schema) - _ENFORCED - _ANNOTATIONS
    if unknown:
        raise ValueError(f"{where}: unsupported schema keywords {sorted(unknown)}")
    kind = schema.get("type")
    if kind not in _TYPES:
        raise ValueError(f"{where}: type must be one of {sorted(_TYPES)}, got {kind!r}")
    if "enum" in schema and not (isinstance(schema["enum"], list) and schema["enum"]):
        raise ValueError(f"{where}: enum must be a non-empty list")
    if kind == "array" and "items" in schema:
        _check_schema(schema["items"], f"{where}.items")
    if kind != "object":
        extra = {"properties", "required", "additionalProperties"} & set(schema)
        if extra:
            raise ValueError(f"{where}: {sorted(extra)} only apply to objects")
        return
    properties = schema.get("properties", {})
    if not isinstance(properties, dict):
        raise ValueError(f"{where}: properties must be an object")
    for prop, sub in properties.items():
        _check_schema(sub, f"{where}.{prop}")
    required = schema.get("required", [])
    if not (isinstance(required, list) and all(r in properties for r in required)):
        raise ValueError(f"{where}: required must list declared properties")
    if not isinstance(schema.get("additionalProperties", True), bool):
        raise ValueError(f"{where}: additionalProperties must be true or false")


def _check_value(schema: dict[str, Any], value: Any, path: str) -> Any:
    """Validate `value` against `schema`, returning it with integral floats made ints."""
    kind = schema["type"]
    label = f"'{path}'" if path else "arguments"
    if kind == "string":
        ok = isinstance(value, str)
    elif kind == "boolean":
        ok = isinstance(value, bool)
    elif kind == "integer":
        # Live carries args as protobuf Struct values, where every number is a double, so
        # 3.0 is a legitimate spelling of the integer 3.
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        ok = ok and math.isfinite(value)
    elif kind == "array":
        ok = isinstance(value, list)
    else:
        ok = isinstance(value, dict)
    if not ok:
        article = "an" if kind[0] in "aeiou" else "a"
        raise _ArgumentError(f"{label} must be {article} {kind}")

    if "enum" in schema and value not in schema["enum"]:
        choices = ", ".join(json.dumps(choice) for choice in schema["enum"])
        raise _ArgumentError(_clip(f"{label} must be one of {choices}", MAX_ERROR_CHARS))
    if kind == "array" and "items" in schema:
        return [_check_value(schema["items"], item, f"{path}[{i}]") for i, item in enumerate(value)]
    if kind == "object":
        return _check_object(schema, value, path)
    return value


def _check_object(schema: dict[str, Any], value: dict[str, Any], path: str) -> dict[str, Any]:
    properties: dict[str, Any] = schema.get("properties", {})
    prefix = f"{path}." if path else ""
    for key in schema.get("required", []):
        if key not in value:
            raise _ArgumentError(f"missing required '{prefix}{key}'")
    checked: dict[str, Any] = {}
    for key, item in value.items():
        sub = properties.get(key)
        if sub is None:
            if schema.get("additionalProperties", True) is False:
                raise _ArgumentError(f"unexpected argument '{_clip(prefix + str(key), 64)}'")
            checked[key] = item
            continue
        checked[key] = _check_value(sub, item, prefix + key)
    return checked
