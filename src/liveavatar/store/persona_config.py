"""The persona as the store keeps it (the `config` document): what an admin saves on the
dashboard and every new session reads (`personas.py`).

The defaults are the Live setup's own (`live.persona`): a saved persona that leaves a
setting alone behaves exactly like the built-in one.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field, field_validator, model_validator

from liveavatar.live.avatar import PREBUILT_AVATARS
from liveavatar.live.models import MediaResolution, ThinkingLevel, check_choices
from liveavatar.live.persona import MIN_TRIGGER_TOKENS
from liveavatar.live.persona import Persona as _LivePersona
from liveavatar.live.persona import VadSettings as _LiveVad
from liveavatar.store._frozen import Frozen
from liveavatar.turn.settings import MIN_SHORT_SILENCE_MS, TurnDetection, TurnSettings

_LIVE_TURN = TurnSettings()

_LIVE_VAD = _LiveVad()
_LIVE = _LivePersona()


class VadSettings(Frozen):
    """Live API `automaticActivityDetection` knobs (same spelling as the emulator's).

    The defaults are the Live setup's own (`live.persona.VadSettings`): a saved persona
    that leaves them alone behaves exactly like the built-in one.
    """

    disabled: bool = _LIVE_VAD.disabled
    start_sensitivity: Literal["HIGH", "LOW"] = _LIVE_VAD.start_sensitivity
    end_sensitivity: Literal["HIGH", "LOW"] = _LIVE_VAD.end_sensitivity
    prefix_padding_ms: int = Field(default=_LIVE_VAD.prefix_padding_ms, ge=0)
    silence_duration_ms: int = Field(default=_LIVE_VAD.silence_duration_ms, ge=0)


class SmartTurnSettings(Frozen):
    """Our own end-of-turn detection (`turn_detection: smart`, `turn.settings`)."""

    short_silence_ms: int = Field(default=_LIVE_TURN.short_silence_ms, ge=MIN_SHORT_SILENCE_MS)
    max_silence_ms: int = Field(default=_LIVE_TURN.max_silence_ms, ge=MIN_SHORT_SILENCE_MS)
    threshold: float = Field(default=_LIVE_TURN.threshold, gt=0.0, lt=1.0)

    @model_validator(mode="after")
    def _silences_in_order(self) -> SmartTurnSettings:
        if self.max_silence_ms < self.short_silence_ms:
            raise ValueError("max_silence_ms must be at least short_silence_ms")
        return self


AvatarMode = Literal["drawn", "clips", "native"]


class AvatarMedia(Frozen):
    """Object names in the media store, per avatar state."""

    idle: list[str] = []
    talking: list[str] = []
    expressive: list[str] = []


class PersonaConfig(Frozen):
    """The active persona. `version` is set by the store: each save adds exactly 1."""

    version: int = Field(default=0, ge=0)
    name: str
    model: str
    voice: str
    system_instruction: str = ""
    tools: list[str] = []
    vad: VadSettings = VadSettings()
    # Who decides the user has finished: Live ("server", with `vad`) or our model ("smart").
    turn_detection: TurnDetection = _LIVE.turn_detection
    smart_turn: SmartTurnSettings = SmartTurnSettings()
    google_search: bool = False
    # Per model (which model takes which: `live.models`); the defaults are the Live setup's.
    thinking_level: ThinkingLevel | None = _LIVE.thinking_level
    media_resolution: MediaResolution | None = _LIVE.media_resolution
    affective_dialog: bool | None = _LIVE.affective_dialog
    proactive_audio: bool | None = _LIVE.proactive_audio
    context_compression: bool = _LIVE.context_compression
    compression_trigger_tokens: int = Field(
        default=_LIVE.compression_trigger_tokens, ge=MIN_TRIGGER_TOKENS
    )
    avatar_media: AvatarMedia = AvatarMedia()
    # "drawn": the built-in animated face; "clips": the clips in `avatar_media` (stored
    # as "video" before the native avatar came; read as "clips"); "native": Gemini's own
    # live avatar (§14), `native_avatar` by name or `native_avatar_image` from the media
    # store, drawn where the endpoint cannot render it.
    avatar_mode: AvatarMode = "drawn"
    native_avatar: str | None = None
    native_avatar_image: str | None = Field(default=None, max_length=200)
    # What the avatar says first in a new (not resumed) conversation; "" : it waits.
    greeting: str = Field(default="", max_length=500)
    # The page's starting talk mode: hold-to-talk instead of hands-free.
    push_to_talk: bool = False
    # Both sides of each conversation recorded (Opus, docs/RECORDINGS.md); the page says so
    # before the microphone opens. Recordings are deleted with their conversation, and
    # after `recording_retention_days` when set (None: they live as long as it does).
    recording: bool = False
    recording_retention_days: int | None = Field(default=None, ge=1)
    updated_at: AwareDatetime | None = None
    updated_by: str | None = None

    @field_validator("avatar_mode", mode="before")
    @classmethod
    def _clips_were_video(cls, value: object) -> object:
        return "clips" if value == "video" else value

    @field_validator("native_avatar")
    @classmethod
    def _prebuilt(cls, value: str | None) -> str | None:
        if value is not None and value not in PREBUILT_AVATARS:
            raise ValueError(f"unknown prebuilt avatar {value!r}")
        return value

    @model_validator(mode="after")
    def _native_has_an_avatar(self) -> PersonaConfig:
        if self.avatar_mode == "native" and not (self.native_avatar or self.native_avatar_image):
            raise ValueError("the native avatar needs a prebuilt avatar or a reference image")
        return self

    def check_model(self) -> None:
        """Refuse what the persona's model does not accept (`live.models.check_choices`).

        Every save checks it (the stores' `put_persona`), and so does loading the active
        persona; reading a stored document does not, so one saved under older rules can
        still be read, and replaced.

        Raises:
            UnsupportedSetting: a ValueError naming the setting, for example "model
                gemini-3.8-live does not accept thinking_level".
        """
        check_choices(
            self.model,
            thinking_level=self.thinking_level,
            media_resolution=self.media_resolution,
            affective_dialog=self.affective_dialog,
            proactive_audio=self.proactive_audio,
            context_compression=self.context_compression,
            tools=self.tools,
            google_search=self.google_search,
        )


__all__ = [
    "AvatarMedia",
    "AvatarMode",
    "PersonaConfig",
    "SmartTurnSettings",
    "VadSettings",
]
