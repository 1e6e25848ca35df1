"""Echo brain: every audio chunk comes straight back as 24 kHz model audio, for timing."""

from __future__ import annotations

import json
from typing import Any

from websockets.asyncio.server import ServerConnection

from liveavatar.audio.pcm import decode_base64, upsample_16k_to_24k

from . import outbound
from .errors import INVALID_ARGUMENT, LiveCloseError
from .wire import parse_client_message

_RI_KEYS = ("realtimeInput", "realtime_input")


async def serve_echo(ws: ServerConnection, *, text_frames: bool) -> None:
    """Answer each audio chunk at once with the same audio at 24 kHz.

    This is the benchmark path, so it skips the typed parser for audio (a dict lookup in
    either key spelling and a base64 decode) and builds the reply string by hand. Every
    other message still goes through the full parser, so bad input closes as usual.
    """
    async for raw in ws:
        try:
            doc: Any = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise LiveCloseError(INVALID_ARGUMENT, "Invalid JSON payload received.") from exc
        blob = _audio_blob(doc)
        if blob is None:
            parse_client_message(raw)  # validates; non-audio input is otherwise ignored
            continue
        try:
            pcm = decode_base64(blob.get("data", ""))
        except (ValueError, AttributeError) as exc:
            raise LiveCloseError(INVALID_ARGUMENT, "Invalid value at 'data'.") from exc
        reply = outbound.audio_chunk(upsample_16k_to_24k(pcm[: len(pcm) & ~1]))
        await ws.send(reply if text_frames else reply.encode())


def _audio_blob(doc: Any) -> dict[str, Any] | None:
    if not isinstance(doc, dict) or len(doc) != 1:
        return None
    ri = doc.get(_RI_KEYS[0]) or doc.get(_RI_KEYS[1])
    if not isinstance(ri, dict):
        return None
    audio = ri.get("audio")
    if isinstance(audio, dict):
        return audio
    chunks = ri.get("mediaChunks") or ri.get("media_chunks")
    if isinstance(chunks, list) and len(chunks) == 1 and isinstance(chunks[0], dict):
        mime = chunks[0].get("mimeType") or chunks[0].get("mime_type") or ""
        if str(mime).startswith("audio/"):
            return chunks[0]
    return None
