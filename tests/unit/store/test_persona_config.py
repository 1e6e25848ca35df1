"""The stored persona: its defaults are the Live setup's, and what its model refuses is named."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from pydantic import ValidationError

from liveavatar.live.models import UnsupportedSetting
from liveavatar.live.persona import Persona
from liveavatar.store import PersonaConfig


def test_persona_per_model_defaults_are_the_live_setups() -> None:
    stored = PersonaConfig(name="Ada", model="gemini-3.8-live", voice="Puck")
    live = Persona()
    for name in (
        "thinking_level",
        "media_resolution",
        "affective_dialog",
        "proactive_audio",
        "context_compression",
        "compression_trigger_tokens",
        "turn_detection",
    ):
        assert getattr(stored, name) == getattr(live, name), name
    assert stored.smart_turn.model_dump() == dataclasses.asdict(live.smart_turn)
    assert stored.context_compression  # on by default: conversations outlive 15 minutes
    stored.check_model()


def test_persona_check_model_names_the_setting() -> None:
    persona = PersonaConfig(name="A", model="gemini-3.8-live", voice="Puck", thinking_level="low")
    with pytest.raises(UnsupportedSetting, match="model gemini-3.8-live does not accept thinking"):
        persona.check_model()
    with pytest.raises(ValidationError, match="compression_trigger_tokens"):
        PersonaConfig(name="A", model="m", voice="v", compression_trigger_tokens=10)


def test_persona_defaults() -> None:
    p = PersonaConfig(name="Ada", model="m", voice="Puck")
    assert p.version == 0 and p.vad.start_sensitivity == "HIGH" and p.avatar_media.idle == []
    with pytest.raises(ValidationError):
        PersonaConfig.model_validate(
            {"name": "A", "model": "m", "voice": "v", "vad": {"start_sensitivity": "MID"}}
        )


@pytest.mark.parametrize(
    ("smart_turn", "field"),
    [
        ({"short_silence_ms": 10}, "short_silence_ms"),
        ({"short_silence_ms": 300, "max_silence_ms": 200}, "max_silence_ms"),
        ({"threshold": 1.0}, "threshold"),
    ],
)
def test_smart_turn_settings_out_of_range_are_refused(
    smart_turn: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError, match=field):
        PersonaConfig.model_validate(
            {"name": "A", "model": "m", "voice": "v", "smart_turn": smart_turn}
        )
