"""The active persona: the store's config document, cached briefly, with safe defaults."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from liveavatar.live.models import Api, check_api
from liveavatar.live.persona import Persona, VadSettings
from liveavatar.settings import Settings
from liveavatar.store import PersonaConfig, Store
from liveavatar.turn.settings import TurnSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ActivePersona:
    """The Live persona, and what the page and the session do with it besides."""

    persona: Persona
    version: int | None
    avatar_media: dict[str, list[str]] = field(default_factory=dict)
    greeting: str = ""  # said first in a new conversation; "": the avatar waits
    push_to_talk: bool = False  # the page's starting talk mode
    avatar_mode: Literal["drawn", "clips", "native"] = "drawn"
    native_avatar: str | None = None  # a prebuilt avatar's name
    native_avatar_image: str | None = None  # the reference image's media name
    recording: bool = False  # both sides recorded; the page says so first
    recording_retention_days: int | None = None


def from_config(config: PersonaConfig, api: Api | None = None) -> ActivePersona:
    """The Live persona of a stored one; with `api`, its model must be served there.

    Raises:
        UnsupportedSetting: a ValueError naming the setting the model does not accept.
    """
    vad = config.vad
    persona = Persona(
        name=config.name,
        model=config.model,
        voice=config.voice,
        system_instruction=config.system_instruction or Persona.system_instruction,
        tools=tuple(config.tools),
        vad=VadSettings(
            disabled=vad.disabled,
            start_sensitivity=vad.start_sensitivity,
            end_sensitivity=vad.end_sensitivity,
            prefix_padding_ms=vad.prefix_padding_ms,
            silence_duration_ms=vad.silence_duration_ms,
        ),
        turn_detection=config.turn_detection,
        smart_turn=TurnSettings(
            short_silence_ms=config.smart_turn.short_silence_ms,
            max_silence_ms=config.smart_turn.max_silence_ms,
            threshold=config.smart_turn.threshold,
        ),
        google_search=config.google_search,
        thinking_level=config.thinking_level,
        media_resolution=config.media_resolution,
        affective_dialog=config.affective_dialog,
        proactive_audio=config.proactive_audio,
        context_compression=config.context_compression,
        compression_trigger_tokens=config.compression_trigger_tokens,
    )
    if api is not None:
        check_api(persona.model, api)
    return ActivePersona(
        persona,
        config.version,
        config.avatar_media.model_dump(),
        greeting=config.greeting.strip(),
        push_to_talk=config.push_to_talk,
        avatar_mode=config.avatar_mode,
        native_avatar=config.native_avatar,
        native_avatar_image=config.native_avatar_image,
        recording=config.recording,
        recording_retention_days=config.recording_retention_days,
    )


class PersonaSource:
    """What each new session uses: an admin's change applies to the next session.

    The config document is read at most every `cache_s` seconds. If the store fails, the
    last known persona (or the settings' default) keeps sessions running; so it does when
    the saved persona asks its model for something the model does not accept, or names a
    model the configured backend does not serve (logged, naming the setting).

    Raises (constructing):
        UnsupportedSetting: the settings' own model is not served by the configured backend.
    """

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        cache_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._cache_s = cache_s
        self._clock = clock
        # The emulator speaks the Gemini API's protocol (live/endpoint.py).
        self._api: Api = "vertex" if settings.live_backend == "vertex" else "gemini"
        default = Persona(model=settings.model, voice=settings.voice)
        check_api(default.model, self._api)
        self._default = ActivePersona(default, None)
        self._current = self._default
        self._fetched_at = float("-inf")

    async def current(self) -> ActivePersona:
        now = self._clock()
        if now - self._fetched_at < self._cache_s:
            return self._current
        try:
            config = await self._store.get_persona()
        except Exception:
            logger.warning("could not read the persona; using the last known one")
            return self._current
        self._fetched_at = now
        if config is None:
            self._current = self._default
            return self._current
        try:
            self._current = from_config(config, self._api)
        except ValueError as exc:
            logger.error(
                "saved persona refused (%s); using the last known one",
                exc,
                extra={"persona_version": config.version},
            )
        return self._current
