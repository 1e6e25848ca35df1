"""Function tools as Live knows them, in our own types (reference §4.1, §4.4, §13.2).

The tools and the bridge speak these; only `live/` turns them into wire JSON (the raw
client, `endpoint.setup_body`) or into the SDK's types (`persona.connect_config`,
`connection.LiveConnection`), so no SDK type reaches the bridge or the tools.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .models import Behavior, LiveModel

Scheduling = Literal["WHEN_IDLE", "INTERRUPT", "SILENT"]
"""How the model folds in the answer to a NON_BLOCKING call [SDK]: `WHEN_IDLE` (the
default) speaks after the current output, `INTERRUPT` cuts it off and speaks, `SILENT`
only adds the answer to the context."""


@dataclass(frozen=True)
class FunctionSpec:
    """A function the model may call, as declared in `setup`.

    `parameters` is a JSON Schema object. `non_blocking`: the function is slow (a lookup),
    so where the model allows it the call is declared NON_BLOCKING and the avatar keeps
    talking while it runs.
    """

    name: str
    description: str
    parameters: dict[str, Any]
    non_blocking: bool = False


@dataclass(frozen=True)
class ToolResponse:
    """The answer to one function call: `response` is `{"output": …}` or `{"error": …}`.

    `scheduling` is set only for a call declared NON_BLOCKING (it means nothing for the
    others, and a sync-only model has no use for it).
    """

    id: str
    name: str
    response: dict[str, Any]
    scheduling: Scheduling | None = None


def declaration_json(spec: FunctionSpec, model: LiveModel) -> dict[str, Any]:
    """One `functionDeclarations` entry in the wire's camelCase, its `behavior` as the
    model takes it (`LiveModel.behavior`)."""
    out: dict[str, Any] = {
        "name": spec.name,
        "description": spec.description,
        "parametersJsonSchema": spec.parameters,
    }
    behavior = model.behavior(spec.non_blocking)
    if behavior is not None:
        out["behavior"] = behavior
    return out


def declared_non_blocking(tools: Any) -> frozenset[str]:
    """The functions a wire setup's `tools` (as `setup_body` writes them) declare
    NON_BLOCKING.

    Both clients always write `behavior` where a model takes NON_BLOCKING calls
    (`LiveModel.behavior`), so a declaration without it is a blocking one.
    """
    names: set[str] = set()
    for tool in tools if isinstance(tools, list) else ():
        declarations = tool.get("functionDeclarations") if isinstance(tool, dict) else None
        for d in declarations if isinstance(declarations, list) else ():
            if isinstance(d, dict) and str(d.get("behavior") or "").upper() == "NON_BLOCKING":
                names.add(str(d.get("name")))
    return frozenset(names)


def response_json(response: ToolResponse) -> dict[str, Any]:
    """One `functionResponses` entry for the raw client.

    `scheduling` goes in both places the reference knows (§13.2): beside `response`, as
    the SDK sends it (shape A), and inside `response`, as Google's docs show it (shape B);
    the service honours either, so sending both is the safe choice.
    """
    out: dict[str, Any] = {"id": response.id, "name": response.name}
    if response.scheduling is None:
        out["response"] = response.response
    else:
        out["response"] = {**response.response, "scheduling": response.scheduling}
        out["scheduling"] = response.scheduling
    return out


__all__ = [
    "Behavior",
    "FunctionSpec",
    "Scheduling",
    "ToolResponse",
    "declaration_json",
    "declared_non_blocking",
    "response_json",
]
