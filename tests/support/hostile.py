"""Hypothesis strategies for what a hostile or broken browser can send on its socket.

Valid messages of every type, the same messages mutated (fields dropped, added, retyped,
set to huge numbers), JSON nested past the parser's limit, arbitrary text, audio of any
length (odd, oversized), invalid UTF-8 in text frames, frames that break the WebSocket
protocol itself, and floods of tiny frames.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from liveavatar import protocol as p

JsonValue = Any

TYPES = ["hello", "text", "video_frame", "audio_end", "ping", "bye"]

# Numbers no browser sends: past every float and int range the parser knows.
HUGE_NUMBERS = [
    "1" + "0" * 400,
    "-" + "9" * 5_000,
    "1e400",
    "-1e400",
    "1e-400",
    "18446744073709551616",
    "9223372036854775808",
    "-9223372036854775809",
    "0.0000000000000000000000000001",
    "123456789012345678901234567890.5",
]

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
json_values: st.SearchStrategy[JsonValue] = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)

base64_text = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=",
    min_size=4,
    max_size=64,
)


@st.composite
def valid_messages(draw: st.DrawFn, kinds: list[str] | None = None) -> dict[str, JsonValue]:
    """A browser message that passes the parser (a `video_frame`'s image may still be bad)."""
    kind = draw(st.sampled_from(kinds or TYPES))
    doc: dict[str, JsonValue] = {"type": kind}
    if kind == "hello":
        doc["version"] = p.PROTOCOL_VERSION
        if draw(st.booleans()):
            doc["session_id"] = draw(st.text(max_size=64))
        if draw(st.booleans()):
            doc["browser_key"] = draw(st.from_regex(r"\A[A-Za-z0-9_-]{16,128}\Z"))
    elif kind == "text":
        doc["text"] = draw(st.text(min_size=1, max_size=80))
    elif kind == "video_frame":
        doc["data"] = draw(base64_text)
        doc["mime_type"] = draw(st.sampled_from(["image/jpeg", "image/png", "image/webp"]))
        doc["source"] = draw(st.sampled_from(["camera", "screen"]))
    elif kind == "ping":
        doc["t"] = draw(st.floats(allow_nan=False, allow_infinity=False))
    return doc


@st.composite
def mutated_messages(draw: st.DrawFn) -> str:
    """A valid message with one to three mutations, as JSON text."""
    doc = draw(valid_messages())
    for _ in range(draw(st.integers(1, 3))):
        mutation = draw(st.sampled_from(["drop", "set", "add", "retype"]))
        keys = sorted(doc)
        if mutation == "drop" and keys:
            del doc[draw(st.sampled_from(keys))]
        elif mutation == "set" and keys:
            doc[draw(st.sampled_from(keys))] = draw(json_values)
        elif mutation == "add":
            doc[draw(st.text(max_size=12))] = draw(json_values)
        elif mutation == "retype":
            doc["type"] = draw(st.sampled_from(TYPES) | st.text(max_size=12) | json_scalars)
    text = json.dumps(doc)
    if draw(st.booleans()):
        # Numbers json.dumps never writes, spliced in as raw JSON.
        key = draw(st.sampled_from(["version", "t", "text", "data", "x"]))
        number = draw(st.sampled_from(HUGE_NUMBERS))
        text = text[:-1] + ("," if len(text) > 2 else "") + f"{json.dumps(key)}:{number}}}"
    return text


@st.composite
def deep_json(draw: st.DrawFn) -> str:
    """A message with a value nested from a little under to far over the parser's limit."""
    depth = draw(st.integers(150, 20_000))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
    closed = draw(st.booleans())
    inner = opener * depth + ("1" + closer * depth if closed else "")
    kind = draw(st.sampled_from(TYPES))
    return f'{{"type":"{kind}","x":{inner}' + ("}" if closed else "")


def raw_text() -> st.SearchStrategy[str]:
    """Any text at all: unicode of every category, near-JSON, JSON of the wrong shape."""
    return st.one_of(
        st.text(max_size=200),
        st.text(alphabet='{}[]":,0123456789.eE+-truefalsn \\', max_size=120),
        json_values.map(json.dumps),
        st.sampled_from(HUGE_NUMBERS),
    )


def text_frames() -> st.SearchStrategy[str]:
    """Every kind of text frame a hostile browser can send."""
    return st.one_of(
        valid_messages().map(json.dumps),
        mutated_messages(),
        deep_json(),
        raw_text(),
    )


@dataclass(frozen=True)
class InvalidUtf8:
    """A text frame whose payload is not UTF-8 (sent as raw bytes in a text frame)."""

    payload: bytes


invalid_utf8 = st.sampled_from(
    [
        b"\xff",
        b"\xc3\x28",
        b"\xed\xa0\x80",
        b'{"type":"text","text":"\xe2\x82"}',
        b"\xf8\x88\x80\x80\x80",
    ]
).map(InvalidUtf8)


def audio_frames() -> st.SearchStrategy[bytes]:
    """Binary frames: real-sized audio, odd lengths, empty, up to past the per-frame limit."""
    return st.one_of(
        st.binary(max_size=64),
        st.integers(0, 2 * p.MAX_AUDIO_FRAME_BYTES).map(lambda n: b"\x01" * n),
        st.just(b"\x00" * 640),
    )


@dataclass(frozen=True)
class RawFrame:
    """Bytes written straight to the socket after the handshake, past the client library.

    `violation`: the bytes break RFC 6455, so the WebSocket layer must close with 1002.
    """

    data: bytes
    violation: bool = True


def wire_frame(first_byte: int, payload: bytes, *, masked: bool = True) -> bytes:
    """One WebSocket frame as a client writes it: FIN/RSV/opcode byte, length, mask, data."""
    n = len(payload)
    bit = 0x80 if masked else 0
    if n < 126:
        header = bytes([first_byte, bit | n])
    elif n < 65536:
        header = bytes([first_byte, bit | 126]) + n.to_bytes(2, "big")
    else:
        header = bytes([first_byte, bit | 127]) + n.to_bytes(8, "big")
    if not masked:
        return header + payload
    key = b"\x5a\x17\xc3\x09"
    return header + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


PING = b'{"type":"ping","t":1}'
raw_frames = st.sampled_from(
    [
        RawFrame(wire_frame(0xC1, PING)),  # RSV1 set, no extension negotiated
        RawFrame(wire_frame(0x83, b"x")),  # a reserved opcode
        RawFrame(wire_frame(0x80, b"x")),  # a continuation with nothing to continue
        RawFrame(wire_frame(0x09, b"")),  # a fragmented ping (FIN unset on a control frame)
        RawFrame(wire_frame(0x89, b"x" * 126)),  # a control frame over 125 bytes
        RawFrame(wire_frame(0x81, PING, masked=False)),  # a client frame without a mask
        RawFrame(wire_frame(0x88, b"\x03\xe7")),  # close code 999
        RawFrame(wire_frame(0x88, b"\x03")),  # a close payload of one byte
        RawFrame(
            wire_frame(0x01, PING[:9]) + wire_frame(0x82, b"\x00\x00")
        ),  # data inside a fragmented message
        RawFrame(wire_frame(0x01, PING[:9]) + wire_frame(0x80, PING[9:]), violation=False),
        RawFrame(
            wire_frame(0x01, PING[:9]) + wire_frame(0x89, b"") + wire_frame(0x80, PING[9:]),
            violation=False,
        ),
    ]
)


@dataclass(frozen=True)
class Flood:
    """`count` copies of one tiny frame sent back to back."""

    frame: str | bytes
    count: int


floods = st.builds(
    Flood,
    frame=st.sampled_from([b"\x00\x00", b"\x00", "{}", '{"type":"ping"}', "x"]),
    count=st.integers(20, 400),
)

Frame = str | bytes | InvalidUtf8 | RawFrame | Flood


def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """Draw from one of `choices`, each as often as its weight says (`one_of` is even)."""
    picks = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.integers(0, len(picks) - 1).flatmap(lambda i: picks[i])


def frames() -> st.SearchStrategy[Frame]:
    """One step of a hostile conversation after `hello`.

    Steps that end a session (invalid UTF-8, floods) are drawn less often than the rest,
    so most conversations go on long enough to mix many kinds of frame.
    """
    out_of_order = st.sampled_from(
        [
            json.dumps({"type": "hello", "version": 1}),  # hello twice
            json.dumps({"type": "bye"}),
            json.dumps({"type": "audio_end"}),
        ]
    )
    return weighted(
        (3, valid_messages().map(json.dumps)),
        (2, mutated_messages()),
        (1, deep_json()),
        (1, raw_text()),
        (3, audio_frames()),
        (2, out_of_order),
        (1, invalid_utf8),
        (1, raw_frames),
        (1, floods),
    )
