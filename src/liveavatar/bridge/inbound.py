"""Browser frames at the socket edge: JSON parsed once into typed messages, or audio bytes."""

from __future__ import annotations

import base64
import binascii
import json

from pydantic import ValidationError
from starlette.websockets import WebSocket

from liveavatar import protocol as p
from liveavatar.errors import RecoverableProtocolError


class BrowserGone(Exception):
    """The browser closed its socket."""


async def receive_frame(ws: WebSocket) -> p.ClientMessage | bytes:
    """The next frame: raw PCM bytes, or a typed message.

    Raises:
        BrowserGone: the socket closed.
        RecoverableProtocolError: a text frame that is not a valid message.
    """
    frame = await ws.receive()
    if frame["type"] == "websocket.disconnect":
        raise BrowserGone
    data = frame.get("bytes")
    if data is not None:
        return bytes(data)
    text = frame.get("text") or ""
    try:
        return p.client_message.validate_json(text)
    except ValidationError as exc:
        raise RecoverableProtocolError(describe_invalid(exc, text)) from exc


def decode_video_frame(msg: p.VideoFrame) -> bytes:
    try:
        data = base64.b64decode(msg.data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RecoverableProtocolError("video_frame.data is not valid base64.") from exc
    if len(data) > p.MAX_VIDEO_FRAME_BYTES:
        raise RecoverableProtocolError("Video frame too large.")
    return data


def describe_invalid(exc: ValidationError, text: str) -> str:
    try:
        doc = json.loads(text)
    except ValueError:
        return "Frames must be JSON objects or binary audio."
    if not isinstance(doc, dict) or "type" not in doc:
        return "Messages need a type."
    err = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(x) for x in err["loc"])
    return f"Invalid {str(doc['type'])[:30]!r} message at {where or 'top level'}: {err['msg']}"
