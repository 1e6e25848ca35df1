"""Client message parsing: both key spellings, free-form values untouched, typed errors."""

from __future__ import annotations

import json

import pytest

from liveavatar.emulator.errors import LiveCloseError
from liveavatar.emulator.wire import RealtimeInput, Setup, ToolResponse, parse_client_message


def test_setup_in_mixed_case_as_the_sdk_sends_it() -> None:
    raw = json.dumps(
        {
            "setup": {
                "model": "models/gemini-3.8-live",
                "generationConfig": {
                    "responseModalities": ["AUDIO"],
                    "speechConfig": {
                        "voice_config": {"prebuilt_voice_config": {"voice_name": "Kore"}}
                    },
                },
                "systemInstruction": {"parts": [{"text": "You are Ava."}], "role": "user"},
                "tools": [
                    {
                        "functionDeclarations": [
                            {
                                "name": "set_mood",
                                "parameters_json_schema": {
                                    "type": "object",
                                    "properties": {"mood_name": {"type": "string"}},
                                    "property_ordering": ["mood_name"],
                                },
                            }
                        ]
                    }
                ],
                "realtimeInputConfig": {
                    "automatic_activity_detection": {"disabled": True, "silence_duration_ms": 300}
                },
            }
        }
    )
    kind, body = parse_client_message(raw)
    assert kind == "setup"
    assert isinstance(body, Setup)
    assert body.voice_name() == "Kore"
    assert body.instruction_text() == "You are Ava."
    (fd,) = body.functions()
    # Keys inside a schema are never renamed.
    assert fd.parameter_schema()["properties"] == {"mood_name": {"type": "string"}}
    assert fd.parameter_schema()["property_ordering"] == ["mood_name"]
    ric = body.realtime_input_config
    assert ric and ric.automatic_activity_detection
    assert ric.automatic_activity_detection.disabled is True
    assert ric.automatic_activity_detection.silence_duration_ms == 300


def test_realtime_audio_in_both_spellings_and_base64_alphabets() -> None:
    for key, blob_key in (("realtime_input", "mime_type"), ("realtimeInput", "mimeType")):
        raw = json.dumps({key: {"audio": {blob_key: "audio/pcm;rate=16000", "data": "_-8"}}})
        kind, body = parse_client_message(raw)
        assert kind == "realtime_input"
        assert isinstance(body, RealtimeInput) and body.audio
        assert body.audio.decoded() == b"\xff\xef"


def test_tool_response_payload_keys_are_kept() -> None:
    raw = json.dumps(
        {
            "tool_response": {
                "functionResponses": [
                    {
                        "id": "c1",
                        "name": "f",
                        "response": {"output": {"snake_key": 1}},
                        "will_continue": False,
                    }
                ]
            }
        }
    )
    _, body = parse_client_message(raw)
    assert isinstance(body, ToolResponse)
    assert body.function_responses[0].response == {"output": {"snake_key": 1}}
    assert body.function_responses[0].will_continue is False


@pytest.mark.parametrize(
    "raw",
    [
        "{",
        b"\xff\xfe",
        "[]",
        '{"a": 1, "b": 2}',
        '{"serverContent": {}}',
        '{"setup": 5}',
        '{"setup": {"model": 5}}',
    ],
)
def test_malformed_messages_are_invalid_arguments(raw: str | bytes) -> None:
    with pytest.raises(LiveCloseError) as info:
        parse_client_message(raw)
    assert info.value.code == 1007
    assert len(info.value.reason.encode()) <= 123


def test_bad_base64_is_an_invalid_argument() -> None:
    _, body = parse_client_message('{"realtimeInput": {"audio": {"data": "a$b"}}}')
    assert isinstance(body, RealtimeInput) and body.audio
    with pytest.raises(LiveCloseError):
        body.audio.decoded()
