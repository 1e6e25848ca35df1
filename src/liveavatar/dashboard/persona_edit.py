"""The persona form's rules: what may be chosen, checking an edit before it is saved, and
comparing two saved versions.

Saving goes through `Store.put_persona`, which checks the model's rules again; checking
here first lets the page say everything that is wrong at once, before any write.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from liveavatar.live.models import MODELS, Api, UnsupportedSetting, check_api
from liveavatar.live.persona import PREBUILT_VOICES, Persona
from liveavatar.settings import Settings
from liveavatar.store.persona_config import PersonaConfig
from liveavatar.tools.builtin import default_tools

# Stamped by the store on each save: never part of what an edit or a diff compares.
_STAMPS = frozenset({"version", "updated_at", "updated_by"})


class PersonaInvalid(ValueError):
    """An edit that cannot be saved; `problems` are readable lines, one per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class FieldChange:
    """One setting that differs between two versions (`field` dotted for nested ones)."""

    field: str
    old: Any
    new: Any


def model_names() -> list[str]:
    """The Live models the backend knows, by name."""
    return sorted(MODELS)


def voice_names() -> list[str]:
    """The prebuilt voices of the native-audio models, by name."""
    return sorted(PREBUILT_VOICES)


def tool_names() -> list[str]:
    """The backend's built-in tools (the knowledge search included, as when configured)."""
    return sorted(tool.name for tool in default_tools(Path(".")))


def api_of(settings: Settings) -> Api:
    """The Live API the deployment speaks (the emulator speaks the Gemini API's)."""
    return "vertex" if settings.live_backend == "vertex" else "gemini"


def starting_persona(settings: Settings) -> PersonaConfig:
    """What the form shows before the first save: the backend's built-in persona."""
    built_in = Persona(model=settings.model, voice=settings.voice)
    return PersonaConfig(
        name=built_in.name,
        model=built_in.model,
        voice=built_in.voice,
        system_instruction=built_in.system_instruction,
        tools=list(built_in.tools),
    )


def check_persona(values: Mapping[str, Any], *, api: Api | None = None) -> PersonaConfig:
    """The persona `values` describe, or `PersonaInvalid` listing every problem found.

    Checked: the fields' own types and bounds, a known model (served by `api` when given),
    a prebuilt voice, built-in tools, and the settings the chosen model does not accept.
    """
    problems: list[str] = []
    data = {k: v for k, v in values.items() if k not in _STAMPS}
    model = str(data.get("model", ""))
    if model not in MODELS:
        problems.append(f"model: {model or '(none)'} is not a known Live model")
    elif api is not None:
        try:
            check_api(model, api)
        except UnsupportedSetting as exc:
            problems.append(f"model: {exc}")
    voice = str(data.get("voice", ""))
    if voice not in PREBUILT_VOICES:
        problems.append(f"voice: {voice or '(none)'} is not a prebuilt voice")
    known_tools = set(tool_names())
    unknown = [t for t in data.get("tools", []) if t not in known_tools]
    if unknown:
        problems.append(f"tools: unknown tool {', '.join(map(str, unknown))}")
    try:
        config = PersonaConfig.model_validate(data)
    except ValidationError as exc:
        raise PersonaInvalid(problems + readable_errors(exc)) from None
    if problems:
        raise PersonaInvalid(problems)
    try:
        config.check_model()
    except UnsupportedSetting as exc:
        raise PersonaInvalid([str(exc)]) from None
    return config


def readable_errors(exc: ValidationError) -> list[str]:
    """One line per pydantic error: "vad.silence_duration_ms: Input should be ≥ 0"."""
    lines = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "persona"
        lines.append(f"{where}: {error['msg']}")
    return lines


def content(config: PersonaConfig) -> dict[str, Any]:
    """A version's settings without the store's stamps (what a rollback saves again)."""
    return config.model_dump(mode="json", exclude=set(_STAMPS))


def diff(old: PersonaConfig, new: PersonaConfig) -> list[FieldChange]:
    """The settings that differ, nested ones flattened (`vad.silence_duration_ms`)."""
    before, after = _flatten(content(old)), _flatten(content(new))
    return [
        FieldChange(key, before.get(key), after.get(key))
        for key in sorted(before.keys() | after.keys())
        if before.get(key) != after.get(key)
    ]


def instruction_diff(old: PersonaConfig, new: PersonaConfig) -> str:
    """A unified diff of the two system instructions ("" when they are the same)."""
    lines = difflib.unified_diff(
        old.system_instruction.splitlines(),
        new.system_instruction.splitlines(),
        fromfile=f"version {old.version}",
        tofile=f"version {new.version}",
        lineterm="",
    )
    return "\n".join(lines)


def _flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out
