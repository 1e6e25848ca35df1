"""Server-to-client Live messages, always camelCase at the top level, standard base64."""

from __future__ import annotations

import json
from typing import Any, Literal

from liveavatar.audio.pcm import encode_base64

Flavor = Literal["gemini", "vertex"]
OUTPUT_MIME = "audio/pcm;rate=24000"
VIDEO_MIME = "video/mp4"  # the service's value is not documented (reference §14.3)


def dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))


def setup_complete(session_id: str) -> dict[str, Any]:
    return {"setupComplete": {"sessionId": session_id}}


def audio_chunk(pcm24k: bytes) -> str:
    # Built by hand: this runs for every chunk of every session, and json.dumps of the
    # base64 string is the dominant cost in the echo benchmark otherwise.
    return (
        '{"serverContent":{"modelTurn":{"parts":[{"inlineData":{"mimeType":"'
        + OUTPUT_MIME
        + '","data":"'
        + encode_base64(pcm24k)
        + '"}}]}}}'
    )


def video_chunk(fmp4: bytes) -> str:
    """Live-avatar media (reference §14.3): fragmented MP4 bytes, base64 in `inlineData`."""
    return (
        '{"serverContent":{"modelTurn":{"parts":[{"inlineData":{"mimeType":"'
        + VIDEO_MIME
        + '","data":"'
        + encode_base64(fmp4)
        + '"}}]}}}'
    )


def text_part(text: str) -> dict[str, Any]:
    return {"serverContent": {"modelTurn": {"parts": [{"text": text}]}}}


def input_transcription(text: str, finished: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"text": text}
    if finished:
        body["finished"] = True
    return {"serverContent": {"inputTranscription": body}}


def output_transcription(text: str, finished: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"text": text}
    if finished:
        body["finished"] = True
    return {"serverContent": {"outputTranscription": body}}


def generation_complete() -> dict[str, Any]:
    return {"serverContent": {"generationComplete": True}}


def interrupted() -> dict[str, Any]:
    return {"serverContent": {"interrupted": True}}


def turn_complete(usage: dict[str, Any] | None) -> dict[str, Any]:
    msg: dict[str, Any] = {"serverContent": {"turnComplete": True}}
    if usage is not None:
        msg["usageMetadata"] = usage
    return msg


def tool_call(calls: list[dict[str, Any]]) -> dict[str, Any]:
    return {"toolCall": {"functionCalls": calls}}


def tool_call_cancellation(ids: list[str]) -> dict[str, Any]:
    return {"toolCallCancellation": {"ids": ids}}


def go_away(seconds_left: float) -> dict[str, Any]:
    return {"goAway": {"timeLeft": f"{max(seconds_left, 0):g}s"}}


def resumption_update(handle: str | None) -> dict[str, Any]:
    if handle is None:
        return {"sessionResumptionUpdate": {"resumable": False}}
    return {"sessionResumptionUpdate": {"newHandle": handle, "resumable": True}}


def usage_metadata(
    flavor: Flavor,
    *,
    prompt_audio: int,
    prompt_text: int,
    response_audio: int,
    prompt_video: int = 0,
    response_text: int = 0,
    thoughts: int = 0,
    tool_use: int = 0,
) -> dict[str, Any]:
    """Token counts under the field names each API flavour uses (Vertex: `candidates…`);
    detail lists leave out modalities with no tokens (reference §13.5)."""

    def details(*counts: tuple[str, int]) -> list[dict[str, Any]]:
        return [{"modality": m, "tokenCount": n} for m, n in counts if n]

    prompt = prompt_audio + prompt_text + prompt_video
    response = response_audio + response_text
    out_name = "candidates" if flavor == "vertex" else "response"
    usage: dict[str, Any] = {
        "promptTokenCount": prompt,
        f"{out_name}TokenCount": response,
        "totalTokenCount": prompt + response + thoughts + tool_use,
        "promptTokensDetails": details(
            ("TEXT", prompt_text), ("AUDIO", prompt_audio), ("IMAGE", prompt_video)
        ),
        f"{out_name}TokensDetails": details(("AUDIO", response_audio), ("TEXT", response_text)),
    }
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    if tool_use:
        usage["toolUsePromptTokenCount"] = tool_use
        usage["toolUsePromptTokensDetails"] = details(("TEXT", tool_use))
    return usage


def thought(text: str) -> dict[str, Any]:
    """A thought part (reference §13.4): the extended-thinking model's reasoning."""
    return {"serverContent": {"modelTurn": {"parts": [{"text": text, "thought": True}]}}}


def grounding(metadata: dict[str, Any]) -> dict[str, Any]:
    """A grounded answer's `groundingMetadata`, alone (reference §13.3)."""
    return {"serverContent": {"groundingMetadata": metadata}}
