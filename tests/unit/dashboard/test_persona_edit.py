from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from liveavatar.dashboard.persona_edit import (
    PersonaInvalid,
    check_persona,
    content,
    diff,
    instruction_diff,
    model_names,
    starting_persona,
    tool_names,
    voice_names,
)
from liveavatar.settings import Settings
from liveavatar.store.persona_config import PersonaConfig


def _values(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "Ava",
        "model": "gemini-3.8-live",
        "voice": "Puck",
        "system_instruction": "Be brief.",
        "tools": ["get_current_time"],
    }
    return base | changes


def test_choices_come_from_the_backend_tables() -> None:
    assert "gemini-3.8-live" in model_names()
    assert {"Puck", "Charon", "Kore"} <= set(voice_names())
    assert tool_names() == ["get_current_time", "lookup_knowledge"]


def test_starting_persona_is_the_built_in_one() -> None:
    persona = starting_persona(Settings(model="gemini-3.8-live", voice="Kore"))
    assert (persona.model, persona.voice, persona.version) == ("gemini-3.8-live", "Kore", 0)


def test_a_valid_persona_passes_and_drops_the_stamps() -> None:
    config = check_persona(_values(version=7, updated_by="someone"))
    assert config.version == 0
    assert config.updated_by is None


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"model": "gemini-9"}, "model: gemini-9 is not a known Live model"),
        ({"voice": "Robot"}, "voice: Robot is not a prebuilt voice"),
        ({"tools": ["rm_rf"]}, "tools: unknown tool rm_rf"),
        ({"thinking_level": "high"}, "does not accept thinking_level"),
        ({"vad": {"silence_duration_ms": -1}}, "vad.silence_duration_ms:"),
        ({"greeting": "x" * 501}, "greeting:"),
    ],
)
def test_problems_are_named(changes: dict[str, Any], expected: str) -> None:
    with pytest.raises(PersonaInvalid) as raised:
        check_persona(_values(**changes))
    assert any(expected in line for line in raised.value.problems), raised.value.problems


def test_every_problem_is_listed_at_once() -> None:
    with pytest.raises(PersonaInvalid) as raised:
        check_persona(_values(voice="Robot", vad={"prefix_padding_ms": -5}))
    assert len(raised.value.problems) == 2


def test_a_model_the_deployment_does_not_serve() -> None:
    with pytest.raises(PersonaInvalid, match="not served by the Gemini API"):
        check_persona(_values(model="gemini-live-2.5-flash-native-audio"), api="gemini")


def test_diff_lists_changed_fields_flattened() -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    old = PersonaConfig(version=1, updated_at=now, **_values())
    new = PersonaConfig(
        version=2,
        updated_at=now + dt.timedelta(days=1),
        **_values(voice="Kore", vad={"silence_duration_ms": 800}),
    )
    changes = {c.field: (c.old, c.new) for c in diff(old, new)}
    assert changes == {"voice": ("Puck", "Kore"), "vad.silence_duration_ms": (300, 800)}
    assert diff(old, old) == []


def test_instruction_diff_is_unified() -> None:
    old = PersonaConfig(version=1, **_values(system_instruction="Be brief.\nBe kind."))
    new = PersonaConfig(version=2, **_values(system_instruction="Be brief.\nBe warm."))
    text = instruction_diff(old, new)
    assert "--- version 1" in text and "+++ version 2" in text
    assert "-Be kind." in text and "+Be warm." in text
    assert instruction_diff(old, old) == ""


def test_content_round_trips_without_stamps() -> None:
    old = PersonaConfig(version=3, updated_by="a", **_values(greeting="Hi"))
    again = check_persona(content(old))
    assert content(again) == content(old)
