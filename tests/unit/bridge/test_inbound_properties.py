"""Properties of the socket edge's parser over hostile text (hypothesis; tests/support/fuzz.py).

Whatever a browser sends in a text frame, parsing gives a typed message or a short,
recoverable `bad_request`: never another exception, never a long echo of the frame, and
never a message that cannot be sent back as JSON.
"""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from liveavatar import protocol as p
from liveavatar.bridge.inbound import decode_video_frame, parse_message
from liveavatar.errors import RecoverableProtocolError
from tests.support.fuzz import SCALE, examples
from tests.support.hostile import deep_json, mutated_messages, text_frames, valid_messages

MAX_ERROR_CHARS = 300
pytestmark = pytest.mark.timeout(120 * SCALE)  # the long profile checks SCALE times more


def parse_or_refuse(text: str) -> p.ClientMessage | RecoverableProtocolError:
    try:
        return parse_message(text)
    except RecoverableProtocolError as err:
        return err


def assert_sendable(err: RecoverableProtocolError) -> None:
    """The refusal is short and travels as an `error` message the page can parse."""
    assert 0 < len(str(err)) <= MAX_ERROR_CHARS
    wire = p.Error(code="bad_request", message=str(err)).model_dump_json()
    assert json.loads(wire)["message"] == str(err)


@examples(1500)
@given(text_frames())
def test_any_text_frame_is_a_message_or_a_short_typed_refusal(text: str) -> None:
    result = parse_or_refuse(text)
    if isinstance(result, RecoverableProtocolError):
        assert_sendable(result)
    else:
        # What was accepted is a well-formed message that serialises again.
        again = parse_message(result.model_dump_json())
        assert again == result


@examples(300)
@given(valid_messages())
def test_valid_messages_parse_into_their_own_type(doc: dict[str, object]) -> None:
    msg = parse_message(json.dumps(doc))
    assert msg.type == doc["type"]
    for key, value in doc.items():
        assert getattr(msg, key) == value


@examples(300)
@given(mutated_messages())
def test_mutated_messages_never_escape_as_another_exception(text: str) -> None:
    result = parse_or_refuse(text)
    if isinstance(result, RecoverableProtocolError):
        assert_sendable(result)


@examples(100)
@given(deep_json())
def test_nesting_past_the_limit_is_refused_without_recursion(text: str) -> None:
    result = parse_or_refuse(text)
    assert isinstance(result, RecoverableProtocolError)
    assert_sendable(result)


@examples(200)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_pong_echoes_any_finite_ping_exactly(t: float) -> None:
    ping = parse_message(json.dumps({"type": "ping", "t": t}))
    assert isinstance(ping, p.Ping)
    pong = json.loads(p.Pong(t=ping.t).model_dump_json())
    assert pong["t"] == t


@examples(300)
@given(st.text(max_size=200) | st.binary(max_size=150).map(lambda b: base64.b64encode(b).decode()))
def test_video_frame_data_is_bytes_or_a_refusal(data: str) -> None:
    if len(data) < 4:
        data = data.ljust(4, "=")
    frame = p.VideoFrame(type="video_frame", data=data)
    try:
        decoded = decode_video_frame(frame)
    except RecoverableProtocolError as err:
        assert_sendable(err)
    else:
        # Lenient base64 (non-zero trailing bits) is fine: only the size is a limit.
        assert len(decoded) <= len(data) * 3 // 4 <= p.MAX_VIDEO_FRAME_BYTES


@pytest.mark.parametrize("surrogate", ["\ud800", "\udfff", "a\udc80b"])
def test_lone_surrogates_in_a_text_frame_are_refused(surrogate: str) -> None:
    # Python strings can hold them though UTF-8 cannot: nothing downstream may see one.
    for text in (surrogate, json.dumps({"type": "text", "text": surrogate}, ensure_ascii=False)):
        result = parse_or_refuse(text)
        assert isinstance(result, RecoverableProtocolError)
        assert_sendable(result)


# A value of another JSON type for each field of each browser message.
WRONG_TYPES = {
    ("hello", "version"): st.booleans() | st.text() | st.floats() | st.none(),
    ("hello", "token"): st.booleans() | st.integers() | st.floats(),
    ("hello", "session_id"): st.booleans() | st.integers() | st.lists(st.text()),
    ("text", "text"): st.booleans() | st.integers() | st.none(),
    ("video_frame", "data"): st.booleans() | st.integers() | st.none(),
    ("ping", "t"): st.booleans() | st.text() | st.none() | st.lists(st.floats()),
}


@examples(300)
@given(
    st.sampled_from(sorted(WRONG_TYPES)).flatmap(
        lambda where: st.tuples(st.just(where), WRONG_TYPES[where])
    )
)
def test_a_value_of_the_wrong_type_is_refused_not_coerced(
    case: tuple[tuple[str, str], object],
) -> None:
    (kind, name), value = case
    valid: dict[str, dict[str, object]] = {
        "hello": {"version": 1},
        "text": {"text": "hi"},
        "video_frame": {"data": "AAAA"},
    }
    fields = {**valid.get(kind, {}), name: value}
    result = parse_or_refuse(json.dumps({"type": kind, **fields}))
    assert isinstance(result, RecoverableProtocolError), result
    assert_sendable(result)
