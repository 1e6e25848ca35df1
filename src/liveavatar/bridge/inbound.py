"""Browser frames at the socket edge: JSON parsed once into typed messages, or audio bytes."""

from __future__ import annotations

import base64
import binascii

from pydantic import ValidationError
from starlette.websockets import WebSocket

from liveavatar import protocol as p
from liveavatar.errors import RecoverableProtocolError

from .images import check_image_async

_MAX_NAME_CHARS = 30  # of a browser-chosen type or field name quoted back in an error


class BrowserGone(Exception):
    """The browser closed its socket."""


async def receive_raw(ws: WebSocket) -> str | bytes:
    """The next frame as it came: bytes (audio) or text (a JSON message, not yet parsed).

    Raises:
        BrowserGone: the socket closed.
    """
    frame = await ws.receive()
    if frame["type"] == "websocket.disconnect":
        raise BrowserGone
    data = frame.get("bytes")
    if data is not None:
        return bytes(data)
    return frame.get("text") or ""


def parse_message(text: str) -> p.ClientMessage:
    """Parse one JSON text frame into its typed message.

    Raises:
        RecoverableProtocolError: not a valid message (including JSON nested too deeply).
    """
    try:
        return p.client_message.validate_json(text)
    except ValidationError as exc:
        raise RecoverableProtocolError(describe_invalid(exc)) from exc


async def receive_frame(ws: WebSocket) -> p.ClientMessage | bytes:
    """The next frame: raw PCM bytes, or a typed message.

    Raises:
        BrowserGone: the socket closed.
        RecoverableProtocolError: a text frame that is not a valid message.
    """
    frame = await receive_raw(ws)
    return frame if isinstance(frame, bytes) else parse_message(frame)


def decode_video_frame(msg: p.VideoFrame) -> bytes:
    """The frame's bytes, checked for base64 and size only (see read_video_frame).

    Raises:
        RecoverableProtocolError: bad base64 or over MAX_VIDEO_FRAME_BYTES.
    """
    try:
        data = base64.b64decode(msg.data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RecoverableProtocolError("video_frame.data is not valid base64.") from exc
    if len(data) > p.MAX_VIDEO_FRAME_BYTES:
        raise RecoverableProtocolError("Video frame too large.")
    return data


async def read_video_frame(msg: p.VideoFrame) -> bytes:
    """The frame's bytes, checked to be a decodable image of its type within the limits.

    Decoding runs in a worker thread (images.check_image_async).

    Raises:
        RecoverableProtocolError: bad base64, too large, or not a usable image.
    """
    data = decode_video_frame(msg)
    await check_image_async(data, msg.mime_type)
    return data


def describe_invalid(exc: ValidationError) -> str:
    """A short, safe explanation of why a frame is not a valid message.

    Built from pydantic's error alone: parsing the text again (json.loads) would recurse
    without bound on deeply nested input, which pydantic's parser refuses at depth 200.
    Browser-chosen names are cut short so an error never echoes a large frame back.
    """
    err = exc.errors(include_url=False, include_input=False)[0]
    kind, msg = err["type"], err["msg"]
    if kind == "json_invalid":
        if "recursion limit" in msg:
            return "JSON nested too deeply."
        return "Frames must be JSON objects or binary audio."
    if kind in ("dict_type", "model_type", "union_tag_not_found"):
        return "Messages need a type."
    if kind == "union_tag_invalid":
        tag = str(err.get("ctx", {}).get("tag", ""))
        return f"Unknown message type {tag[:_MAX_NAME_CHARS]!r}."
    loc = [str(part)[:_MAX_NAME_CHARS] for part in err["loc"]]
    kind_name = loc[0] if loc else "?"
    where = ".".join(loc) or "top level"
    return f"Invalid {kind_name!r} message at {where}: {msg[:200]}"
