"""The active persona: the store's config document, cached briefly, with safe defaults."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from liveavatar.live.persona import Persona, VadSettings
from liveavatar.settings import Settings
from liveavatar.store import PersonaConfig, Store

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ActivePersona:
    persona: Persona
    version: int | None
    avatar_media: dict[str, list[str]] = field(default_factory=dict)


def from_config(config: PersonaConfig) -> ActivePersona:
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
        google_search=config.google_search,
    )
    return ActivePersona(persona, config.version, config.avatar_media.model_dump())


class PersonaSource:
    """What each new session uses: an admin's change applies to the next session.

    The config document is read at most every `cache_s` seconds. If the store fails, the
    last known persona (or the settings' default) keeps sessions running.
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
        self._default = ActivePersona(Persona(model=settings.model, voice=settings.voice), None)
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
        self._current = self._default if config is None else from_config(config)
        self._fetched_at = now
        return self._current
