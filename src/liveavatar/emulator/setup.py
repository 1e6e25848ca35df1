"""Accepting a connection's `setup` as the service does: the refusals (close code and
reason), the model's rules, the voice, a resumed conversation, and what the session does
differently because of them."""

from __future__ import annotations

from dataclasses import dataclass

from .avatar import AvatarRequest, avatar_request
from .config import EmulatorConfig
from .errors import (
    INVALID_ARGUMENT,
    POLICY,
    REASON_INVALID_ARGUMENT,
    REASON_NOT_FOUND,
    REASON_PERMISSION,
    LiveCloseError,
    model_not_found,
)
from .models import ModelRules, check_setup
from .resumption import Conversation, ResumptionStore
from .routing import Route
from .tts import EspeakVoice, UnknownVoiceError, voice_for
from .usage import THINKING_MODELS
from .wire import Setup


@dataclass(frozen=True)
class Accepted:
    """A setup the emulator serves, and what follows from it."""

    rules: ModelRules
    voice: EspeakVoice
    conversation: Conversation
    search_on: bool  # the setup declares googleSearch
    thinks: bool  # a thinking model: thoughts before each reply
    audio_out: bool  # AUDIO responses (else TEXT)
    interrupts: bool  # the user's activity interrupts the model
    avatar: AvatarRequest | None = None  # VIDEO responses: the live avatar asked for


def accept_setup(
    setup: Setup, config: EmulatorConfig, route: Route, resumption: ResumptionStore
) -> Accepted:
    """Check `setup` for the route's API; `LiveCloseError` with the service's code and
    reason when it refuses (an injected refusal fault comes first)."""
    faults = config.faults
    if faults.refuse_setup == POLICY:
        raise LiveCloseError(POLICY, model_not_found(setup.model, route.api_version))
    if faults.refuse_setup == INVALID_ARGUMENT:
        raise LiveCloseError(INVALID_ARGUMENT, REASON_INVALID_ARGUMENT)
    model = config.model_id(setup.model)
    if model is None:
        raise LiveCloseError(POLICY, model_not_found(setup.model, route.api_version))
    rules = check_setup(setup, model, route)
    modalities = {
        m.upper()
        for m in (setup.generation_config and setup.generation_config.response_modalities) or []
    }
    avatar = avatar_request(setup, modalities, rules, route)
    if avatar is not None and faults.refuse_avatar is not None:
        reason = REASON_PERMISSION if faults.refuse_avatar == POLICY else REASON_INVALID_ARGUMENT
        raise LiveCloseError(faults.refuse_avatar, reason)
    if avatar is None and (modalities - {"AUDIO", "TEXT"} or len(modalities) > 1):
        raise LiveCloseError(INVALID_ARGUMENT, REASON_INVALID_ARGUMENT)
    try:
        voice = voice_for(setup.voice_name())
    except UnknownVoiceError as exc:
        raise LiveCloseError(INVALID_ARGUMENT, REASON_INVALID_ARGUMENT) from exc
    conv = Conversation(model=model, instruction=setup.instruction_text())
    handle = setup.session_resumption.handle if setup.session_resumption else None
    if handle:
        restored = resumption.restore(handle)
        if restored is None:
            raise LiveCloseError(POLICY, REASON_NOT_FOUND)
        if restored.model != model:
            raise LiveCloseError(INVALID_ARGUMENT, REASON_INVALID_ARGUMENT)
        if not conv.instruction:
            conv.instruction = restored.instruction
        conv.history, conv.frames = restored.history, restored.frames
    ric = setup.realtime_input_config
    return Accepted(
        rules=rules,
        voice=voice,
        conversation=conv,
        search_on=any(t.google_search is not None for t in setup.tools or []),
        thinks=model in THINKING_MODELS,
        audio_out="TEXT" not in modalities,
        interrupts=(ric.activity_handling if ric else None) != "NO_INTERRUPTION",
        avatar=avatar,
    )
