"""The google-genai SDK's parse of a Live server message, as `LiveEvent`s (the same events
as `raw.translate_json` yields for the wire JSON; `tests/unit/live/test_parity.py`)."""

from __future__ import annotations

from google.genai import types

from .events import (
    AudioOut,
    FunctionCall,
    GenerationComplete,
    GoAway,
    Grounding,
    Handle,
    InputText,
    Interrupted,
    LiveEvent,
    OutputText,
    ToolCall,
    ToolCancel,
    TurnComplete,
    Usage,
    VideoOut,
    interaction_status,
)
from .metadata import Detail, grounding_event, seconds, usage_event


def translate(
    message: types.LiveServerMessage,
    non_blocking: frozenset[str] = frozenset(),
    *,
    video: bool = False,
) -> list[LiveEvent]:
    """The events in one server message, in the order a client should act on them; calls
    of the functions in `non_blocking` are marked so; with `video` (the connection asked
    for the native avatar) inline data is the avatar's fMP4, not PCM.

    The same events as `raw.translate_json` yields for the wire JSON the SDK parsed
    (tests/unit/live/test_parity.py holds both to every shape in the reference).
    """
    out: list[LiveEvent] = []
    sc = message.server_content
    if sc is not None:
        if sc.interrupted:
            out.append(Interrupted())
        if sc.input_transcription and sc.input_transcription.text:
            out.append(InputText(sc.input_transcription.text))
        if sc.model_turn and sc.model_turn.parts:
            for part in sc.model_turn.parts:
                if part.inline_data and part.inline_data.data:
                    data = part.inline_data.data
                    out.append(VideoOut(data) if video else AudioOut(data))
                elif part.text and not part.thought:
                    out.append(OutputText(part.text))
        if sc.output_transcription and sc.output_transcription.text:
            out.append(OutputText(sc.output_transcription.text))
        if sc.grounding_metadata is not None:
            grounding = _grounding(sc.grounding_metadata)
            if grounding is not None:
                out.append(grounding)
        if sc.generation_complete:
            out.append(GenerationComplete())
    if message.usage_metadata is not None:
        # Wherever it arrives; before TurnComplete, as it belongs to the turn still open.
        out.append(_usage(message.usage_metadata))
    if sc is not None and sc.turn_complete:
        status = sc.interaction_status
        out.append(TurnComplete(interaction_status(status.value if status else None)))
    if message.tool_call and message.tool_call.function_calls:
        out.append(
            ToolCall(
                tuple(
                    FunctionCall(
                        fc.id or "",
                        fc.name or "",
                        dict(fc.args or {}),
                        (fc.name or "") in non_blocking,
                    )
                    for fc in message.tool_call.function_calls
                )
            )
        )
    if message.tool_call_cancellation and message.tool_call_cancellation.ids:
        out.append(ToolCancel(tuple(message.tool_call_cancellation.ids)))
    update = message.session_resumption_update
    if update and update.resumable and update.new_handle:
        out.append(Handle(update.new_handle))
    if message.go_away is not None:
        out.append(GoAway(seconds(message.go_away.time_left)))
    return out


def _usage(meta: types.UsageMetadata) -> Usage:
    # The SDK already mapped Vertex's `candidates…` names to `response_…` (reference §5.7).
    return usage_event(
        prompt=meta.prompt_token_count,
        response=meta.response_token_count,
        total=meta.total_token_count,
        thoughts=meta.thoughts_token_count,
        tool_use_prompt=meta.tool_use_prompt_token_count,
        prompt_details=_details(meta.prompt_tokens_details),
        response_details=_details(meta.response_tokens_details),
    )


def _details(items: list[types.ModalityTokenCount] | None) -> list[Detail]:
    return [
        # An enum member, or the bare string for a modality newer than this SDK.
        (str(getattr(d.modality, "value", d.modality) or ""), d.token_count)
        for d in items or ()
    ]


def _grounding(meta: types.GroundingMetadata) -> Grounding | None:
    webs = [c.web for c in meta.grounding_chunks or () if c.web is not None]
    return grounding_event(
        ((w.title, w.uri, w.domain) for w in webs), meta.web_search_queries or ()
    )
