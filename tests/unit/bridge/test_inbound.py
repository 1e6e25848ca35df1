"""Parsing browser frames at the edge: every bad frame becomes a short, typed error."""

from __future__ import annotations

import base64
import io
import json

import pytest
from PIL import Image

from liveavatar import protocol as p
from liveavatar.bridge.inbound import parse_message, read_video_frame
from liveavatar.errors import RecoverableProtocolError


@pytest.mark.parametrize(
    "text",
    [
        '{"type":"text","text":' + "[" * 100_000,
        '{"type":"text","text":' + "[" * 100_000 + "]" * 100_000 + "}",
        "[" * 100_000,
        '{"type":"ping","t":1,"x":' + '{"a":' * 10_000 + "1" + "}" * 10_001,
    ],
    ids=["unterminated", "balanced", "bare-array", "nested-object"],
)
def test_deeply_nested_json_is_a_recoverable_error_not_a_recursion_error(text: str) -> None:
    with pytest.raises(RecoverableProtocolError, match="nested too deeply"):
        parse_message(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{not json", "Frames must be JSON objects or binary audio."),
        ("[1, 2]", "Messages need a type."),
        ('"hello"', "Messages need a type."),
        ('{"no": "type"}', "Messages need a type."),
        ('{"type": "dance"}', "Unknown message type 'dance'."),
        ('{"type": 5}', "Unknown message type '5'."),
        (
            '{"type": "text", "text": ""}',
            "Invalid 'text' message at text.text: String should have at least 1 character",
        ),
        (
            '{"type": "ping", "t": NaN}',
            "Invalid 'ping' message at ping.t: Input should be a finite number",
        ),
    ],
)
def test_errors_say_what_is_wrong(text: str, expected: str) -> None:
    with pytest.raises(RecoverableProtocolError) as info:
        parse_message(text)
    assert str(info.value) == expected


@pytest.mark.parametrize(
    "doc",
    [
        {"type": "d" * 500_000},
        {"type": "ping", "k" * 500_000: 1},
    ],
    ids=["long-type", "long-field-name"],
)
def test_errors_never_echo_a_large_frame_back(doc: dict[str, object]) -> None:
    with pytest.raises(RecoverableProtocolError) as info:
        parse_message(json.dumps(doc))
    assert len(str(info.value)) < 300


def test_valid_messages_parse_into_their_models() -> None:
    assert parse_message('{"type": "ping", "t": 12.5}') == p.Ping(type="ping", t=12.5)
    assert isinstance(parse_message('{"type": "bye"}'), p.Bye)


async def test_read_video_frame_checks_the_image_and_returns_the_same_bytes() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (0, 0, 255)).save(buf, format="PNG")
    data = base64.b64encode(buf.getvalue()).decode()
    frame = p.VideoFrame(type="video_frame", data=data, mime_type="image/png")
    assert await read_video_frame(frame) == buf.getvalue()
    wrong = p.VideoFrame(type="video_frame", data=data, mime_type="image/webp")
    with pytest.raises(RecoverableProtocolError, match="mime_type"):
        await read_video_frame(wrong)
