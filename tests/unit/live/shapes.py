"""Every server message shape in the protocol reference (§5, §13, §14.3), with the events
it should yield; `test_parity.py` feeds each to both Live clients."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from liveavatar.live.events import (
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
    Source,
    ToolCall,
    ToolCancel,
    TurnComplete,
    Usage,
)

from .wire import BACKENDS, Backend

PCM = bytes(range(256)) * 3
STD = base64.b64encode(PCM).decode()
URLSAFE = base64.urlsafe_b64encode(PCM).decode()
UNPADDED = base64.b64encode(PCM[:-1]).decode().rstrip("=")
# The trap the URL-safe case guards: a lenient decoder drops `-` and `_` without an error.
assert binascii.a2b_base64(URLSAFE) != PCM and len(PCM[:-1]) % 3


def audio(data: str = STD) -> dict[str, Any]:
    return {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": data}}


GEMINI_USAGE = {"promptTokenCount": 120, "responseTokenCount": 48, "totalTokenCount": 168}
VERTEX_USAGE = {"promptTokenCount": 120, "candidatesTokenCount": 48, "totalTokenCount": 168}
FULL_USAGE = {  # §13.5, as the Gemini API names it
    "promptTokenCount": 181,
    "responseTokenCount": 24,
    "totalTokenCount": 205,
    "promptTokensDetails": [
        {"modality": "AUDIO", "tokenCount": 150},
        {"modality": "TEXT", "tokenCount": 31},
    ],
    "responseTokensDetails": [{"modality": "AUDIO", "tokenCount": 24}],
    "thoughtsTokenCount": 0,
    "toolUsePromptTokenCount": 0,
    "toolUsePromptTokensDetails": [],
}
VERTEX_FULL_USAGE = {
    **{k: v for k, v in FULL_USAGE.items() if not k.startswith("response")},
    "candidatesTokenCount": 24,
    "candidatesTokensDetails": [{"modality": "AUDIO", "tokenCount": 24}],
}
U = Usage(120, 48, 168)
FULL = Usage(181, 24, 205, input_text_tokens=31, input_audio_tokens=150, output_audio_tokens=24)
# Every modality and count at once, as an extended-thinking turn with a search and a camera
# frame might report it; DOCUMENT and unknown modalities count for nothing.
EVERY_USAGE = {
    "promptTokenCount": 400,
    "responseTokenCount": 60,
    "thoughtsTokenCount": 90,
    "toolUsePromptTokenCount": 25,
    "totalTokenCount": 575,
    "promptTokensDetails": [
        {"modality": "TEXT", "tokenCount": 100},
        {"modality": "AUDIO", "tokenCount": 200},
        {"modality": "IMAGE", "tokenCount": 58},
        {"modality": "VIDEO", "tokenCount": 40},
        {"modality": "DOCUMENT", "tokenCount": 2},
    ],
    "responseTokensDetails": [
        {"modality": "AUDIO", "tokenCount": 50},
        {"modality": "TEXT", "tokenCount": 10},
    ],
    "toolUsePromptTokensDetails": [{"modality": "TEXT", "tokenCount": 25}],
}
VERTEX_EVERY_USAGE = {
    **{k: v for k, v in EVERY_USAGE.items() if not k.startswith("response")},
    "candidatesTokenCount": 60,
    "candidatesTokensDetails": EVERY_USAGE["responseTokensDetails"],
}
EVERY = Usage(
    400,
    60,
    575,
    input_text_tokens=100,
    input_audio_tokens=200,
    input_video_tokens=98,
    output_text_tokens=10,
    output_audio_tokens=50,
    thoughts_tokens=90,
    tool_use_prompt_tokens=25,
)
GROUNDING = {
    "webSearchQueries": ["weather paris"],
    "searchEntryPoint": {"renderedContent": "<div>…</div>"},
    "groundingChunks": [
        {"web": {"uri": "https://example.org/w", "title": "W", "domain": "example.org"}},
        {"web": {"uri": "https://meteo.example/paris", "domain": "meteo.example"}},
        {"web": {"uri": "https://example.org/w", "title": "W again"}},  # a repeat
        {"retrievedContext": {"uri": "gs://b/doc", "title": "not the web"}},
        {"web": {"title": "no link"}},
    ],
    "groundingSupports": [
        {
            "segment": {"startIndex": 0, "endIndex": 10, "text": "It is sunny"},
            "groundingChunkIndices": [0],
            "confidenceScores": [0.9],
        }
    ],
}


GROUNDED = Grounding(
    (
        Source("W", "https://example.org/w", "example.org"),
        Source("meteo.example", "https://meteo.example/paris", "meteo.example"),
    ),
    ("weather paris",),
)


@dataclass(frozen=True)
class Shape:
    message: dict[str, Any]
    events: list[LiveEvent]
    backends: tuple[Backend, ...] = BACKENDS


def sc(**fields: Any) -> dict[str, Any]:
    return {"serverContent": fields}


SHAPES: dict[str, Shape] = {
    # §5.1
    "setupComplete": Shape({"setupComplete": {}}, []),
    "setupComplete-sessionId": Shape({"setupComplete": {"sessionId": "sess-42"}}, []),
    # §5.2 modelTurn
    "audio": Shape(sc(modelTurn={"parts": [audio()]}), [AudioOut(PCM)]),
    "audio-urlsafe-base64": Shape(sc(modelTurn={"parts": [audio(URLSAFE)]}), [AudioOut(PCM)]),
    "audio-unpadded-base64": Shape(
        sc(modelTurn={"parts": [audio(UNPADDED)]}), [AudioOut(PCM[:-1])]
    ),
    "audio-two-parts": Shape(
        sc(modelTurn={"parts": [audio(), audio()]}), [AudioOut(PCM), AudioOut(PCM)]
    ),
    "text-parts": Shape(
        sc(modelTurn={"role": "model", "parts": [{"text": "Hello"}, {"text": " there"}]}),
        [OutputText("Hello"), OutputText(" there")],
    ),
    "thought-parts-skipped": Shape(
        sc(
            modelTurn={
                "parts": [
                    {"text": "Planning…", "thought": True, "thoughtSignature": "c2ln"},
                    {"text": "Sure."},
                ]
            }
        ),
        [OutputText("Sure.")],
    ),
    # §13.4: the extended-thinking model's thoughts, alone or beside its audio, are never
    # spoken nor transcribed.
    "thoughts-only": Shape(
        sc(modelTurn={"parts": [{"text": "The user asks for the time.", "thought": True}]}), []
    ),
    "thought-with-audio": Shape(
        sc(modelTurn={"parts": [{"text": "Look it up.", "thought": True}, audio()]}),
        [AudioOut(PCM)],
    ),
    "executable-code-part": Shape(
        sc(modelTurn={"parts": [{"executableCode": {"language": "PYTHON", "code": "1"}}]}), []
    ),
    # §5.2 transcriptions
    "inputTranscription": Shape(
        sc(inputTranscription={"text": " what's up"}), [InputText(" what's up")]
    ),
    "inputTranscription-finished-empty": Shape(sc(inputTranscription={"finished": True}), []),
    "outputTranscription": Shape(
        sc(outputTranscription={"text": "It's sunny", "finished": False}),
        [OutputText("It's sunny")],
    ),
    "interimInputTranscription": Shape(sc(interimInputTranscription={"text": "wha"}), []),
    # §5.2 flags
    "interrupted": Shape(sc(interrupted=True), [Interrupted()]),
    "generationComplete": Shape(sc(generationComplete=True), [GenerationComplete()]),
    "turnComplete": Shape(sc(turnComplete=True), [TurnComplete()]),
    "turnComplete-reason-waitingForInput": Shape(
        sc(turnComplete=True, turnCompleteReason="NEED_MORE_INPUT", waitingForInput=True),
        [TurnComplete()],
    ),
    # §5.2, §13.2: the extended-thinking model's turns; only IN_PROGRESS keeps one going.
    "turnComplete-interactionStatus": Shape(
        sc(turnComplete=True, interactionStatus="IN_PROGRESS"), [TurnComplete("IN_PROGRESS")]
    ),
    "turnComplete-interactionStatus-snake": Shape(
        sc(turn_complete=True, interaction_status="IN_PROGRESS"), [TurnComplete("IN_PROGRESS")]
    ),
    "turnComplete-idle": Shape(
        sc(turnComplete=True, interactionStatus="IDLE"), [TurnComplete("IDLE")]
    ),
    "turnComplete-requires-action": Shape(
        sc(turnComplete=True, interactionStatus="REQUIRES_ACTION"),
        [TurnComplete("REQUIRES_ACTION")],
    ),
    "turnComplete-status-unspecified": Shape(
        sc(turnComplete=True, interactionStatus="INTERACTION_STATUS_UNSPECIFIED"),
        [TurnComplete()],
    ),
    "empty-serverContent": Shape(sc(), []),
    # §13.3 grounding, alone and bundled
    "groundingMetadata": Shape(sc(groundingMetadata=GROUNDING), [GROUNDED]),
    "groundingMetadata-bundled": Shape(
        sc(
            modelTurn={"parts": [audio()]},
            outputTranscription={"text": "Sunny."},
            groundingMetadata=GROUNDING,
        ),
        [AudioOut(PCM), OutputText("Sunny."), GROUNDED],
    ),
    "groundingMetadata-with-turnComplete": Shape(
        {**sc(groundingMetadata=GROUNDING, turnComplete=True), "usageMetadata": GEMINI_USAGE},
        [GROUNDED, U, TurnComplete()],
        ("gemini",),
    ),
    "groundingMetadata-queries-only": Shape(
        sc(groundingMetadata={"webSearchQueries": ["paris weather", "", "paris weather"]}),
        [Grounding((), ("paris weather",))],
    ),
    "groundingMetadata-empty": Shape(sc(groundingMetadata={}), []),
    "groundingMetadata-snake-case": Shape(
        sc(
            grounding_metadata={
                "web_search_queries": ["q"],
                "grounding_chunks": [{"web": {"uri": "https://a.example/", "title": "A"}}],
            }
        ),
        [Grounding((Source("A", "https://a.example/"),), ("q",))],
    ),
    "urlContextMetadata": Shape(
        sc(urlContextMetadata={"urlMetadata": [{"retrievedUrl": "https://e.org"}]}), []
    ),
    # §5.3, §5.4
    "toolCall": Shape(
        {
            "toolCall": {
                "functionCalls": [{"id": "fc-1", "name": "set_mood", "args": {"mood": "happy"}}]
            }
        },
        [ToolCall((FunctionCall("fc-1", "set_mood", {"mood": "happy"}),))],
    ),
    "toolCall-two-no-args": Shape(
        {
            "toolCall": {
                "functionCalls": [
                    {"id": "a", "name": "get_current_time"},
                    {"id": "b", "name": "lookup_knowledge", "args": {"query": "hours"}},
                ]
            }
        },
        [
            ToolCall(
                (
                    FunctionCall("a", "get_current_time", {}),
                    FunctionCall("b", "lookup_knowledge", {"query": "hours"}),
                )
            )
        ],
    ),
    "toolCall-without-id": Shape(
        {"toolCall": {"functionCalls": [{"name": "ping", "args": {}}]}},
        [ToolCall((FunctionCall("", "ping", {}),))],
    ),
    "toolCall-null-id": Shape(
        {"toolCall": {"functionCalls": [{"id": None, "name": "ping"}]}},
        [ToolCall((FunctionCall("", "ping", {}),))],
    ),
    "toolCall-willContinue": Shape(
        {
            "toolCall": {
                "functionCalls": [{"id": "s", "name": "f", "args": {}, "willContinue": True}]
            }
        },
        [ToolCall((FunctionCall("s", "f", {}),))],
    ),
    "toolCallCancellation": Shape(
        {"toolCallCancellation": {"ids": ["fc-1", "fc-2"]}}, [ToolCancel(("fc-1", "fc-2"))]
    ),
    # §5.5
    "goAway": Shape({"goAway": {"timeLeft": "50s"}}, [GoAway(50.0)]),
    "goAway-fraction": Shape({"goAway": {"timeLeft": "9.5s"}}, [GoAway(9.5)]),
    "goAway-empty": Shape({"goAway": {}}, [GoAway(0.0)]),
    # §5.6
    "resumptionUpdate": Shape(
        {"sessionResumptionUpdate": {"newHandle": "Cj4K-1", "resumable": True}}, [Handle("Cj4K-1")]
    ),
    "resumptionUpdate-not-resumable": Shape({"sessionResumptionUpdate": {"resumable": False}}, []),
    "resumptionUpdate-empty": Shape({"sessionResumptionUpdate": {}}, []),
    "resumptionUpdate-transparent": Shape(
        {
            "sessionResumptionUpdate": {
                "newHandle": "h9",
                "resumable": True,
                "lastConsumedClientMessageIndex": "12",
            }
        },
        [Handle("h9")],
    ),
    # §5.7, §13.5 usage: alone, beside turnComplete, in each backend's names
    "usage-alone": Shape({"usageMetadata": GEMINI_USAGE}, [U], ("gemini",)),
    "usage-alone-vertex": Shape({"usageMetadata": VERTEX_USAGE}, [U], ("vertex",)),
    "usage-with-turnComplete": Shape(
        {**sc(turnComplete=True), "usageMetadata": GEMINI_USAGE}, [U, TurnComplete()], ("gemini",)
    ),
    "usage-with-turnComplete-vertex": Shape(
        {**sc(turnComplete=True), "usageMetadata": VERTEX_USAGE}, [U, TurnComplete()], ("vertex",)
    ),
    "usage-full-details": Shape(
        {**sc(turnComplete=True), "usageMetadata": FULL_USAGE},
        [FULL, TurnComplete()],
        ("gemini",),
    ),
    "usage-full-details-vertex": Shape(
        {**sc(turnComplete=True), "usageMetadata": VERTEX_FULL_USAGE},
        [FULL, TurnComplete()],
        ("vertex",),
    ),
    "usage-every-modality": Shape({"usageMetadata": EVERY_USAGE}, [EVERY], ("gemini",)),
    "usage-every-modality-vertex": Shape(
        {"usageMetadata": VERTEX_EVERY_USAGE}, [EVERY], ("vertex",)
    ),
    # No breakdown at all: the totals, and 0 for every modality.
    "usage-without-details": Shape(
        {"usageMetadata": {**GEMINI_USAGE, "thoughtsTokenCount": 7}},
        [Usage(120, 48, 168, thoughts_tokens=7)],
        ("gemini",),
    ),
    # The SDK drops `responseTokensDetails` in Vertex mode (§5.7): so does the raw client.
    "usage-gemini-details-on-vertex": Shape(
        {"usageMetadata": {**VERTEX_USAGE, "responseTokensDetails": [{"modality": "AUDIO"}]}},
        [U],
        ("vertex",),
    ),
    # The SDK drops `responseTokenCount` in Vertex mode (§5.7): so does the raw client.
    "usage-gemini-names-on-vertex": Shape(
        {"usageMetadata": GEMINI_USAGE}, [Usage(120, 0, 168)], ("vertex",)
    ),
    "usage-empty": Shape({"usageMetadata": {}}, [Usage()]),
    "usage-with-audio": Shape(
        {**sc(modelTurn={"parts": [audio()]}), "usageMetadata": GEMINI_USAGE},
        [AudioOut(PCM), U],
        ("gemini",),
    ),
    # §5.8
    "voiceActivity": Shape(
        {"voiceActivity": {"type": "ACTIVITY_START", "audioOffset": "1.2s"}}, []
    ),
    "voiceActivity-end": Shape({"voiceActivity": {"type": "ACTIVITY_END"}}, []),
    "voiceActivityDetectionSignal": Shape(
        {"voiceActivityDetectionSignal": {"vadSignalType": "VAD_SIGNAL_TYPE_SOS"}}, []
    ),
    # §3: several fields and members in one message, acted on in order
    "barge-in": Shape(
        sc(interrupted=True, inputTranscription={"text": "wait"}),
        [Interrupted(), InputText("wait")],
    ),
    "interrupted-turnComplete": Shape(
        sc(interrupted=True, turnComplete=True), [Interrupted(), TurnComplete()]
    ),
    "whole-turn-in-one": Shape(
        {
            **sc(
                inputTranscription={"text": "hi"},
                modelTurn={"parts": [audio()]},
                outputTranscription={"text": "Hello!"},
                generationComplete=True,
                turnComplete=True,
            ),
            "usageMetadata": GEMINI_USAGE,
        },
        [
            InputText("hi"),
            AudioOut(PCM),
            OutputText("Hello!"),
            GenerationComplete(),
            U,
            TurnComplete(),
        ],
        ("gemini",),
    ),
    "toolCall-with-usage": Shape(
        {"toolCall": {"functionCalls": [{"id": "x", "name": "f"}]}, "usageMetadata": VERTEX_USAGE},
        [U, ToolCall((FunctionCall("x", "f", {}),))],
        ("vertex",),
    ),
    "turnComplete-handle-goAway": Shape(
        {
            **sc(turnComplete=True),
            "sessionResumptionUpdate": {"newHandle": "h3", "resumable": True},
            "goAway": {"timeLeft": "10s"},
        },
        [TurnComplete(), Handle("h3"), GoAway(10.0)],
    ),
    "cancellation-and-interrupted": Shape(
        {**sc(interrupted=True), "toolCallCancellation": {"ids": ["fc-9"]}},
        [Interrupted(), ToolCancel(("fc-9",))],
    ),
    # §2: nested keys in snake_case are read by the SDK (pydantic aliases), so by us too.
    "snake-case-nested": Shape(
        sc(
            model_turn={"parts": [{"inline_data": {"mime_type": "audio/pcm", "data": STD}}]},
            output_transcription={"text": "x"},
            input_transcription={"text": "y"},
            generation_complete=True,
            turn_complete=True,
        ),
        [InputText("y"), AudioOut(PCM), OutputText("x"), GenerationComplete(), TurnComplete()],
    ),
    "snake-case-nested-others": Shape(
        {
            "toolCall": {"function_calls": [{"id": "s", "name": "f"}]},
            "sessionResumptionUpdate": {"new_handle": "h4", "resumable": True},
            "goAway": {"time_left": "5s"},
        },
        [ToolCall((FunctionCall("s", "f", {}),)), Handle("h4"), GoAway(5.0)],
    ),
    "snake-case-usage": Shape(
        {
            "usageMetadata": {
                "prompt_token_count": 2,
                "response_token_count": 1,
                "total_token_count": 3,
                "thoughts_token_count": 4,
                "prompt_tokens_details": [{"modality": "AUDIO", "token_count": 2}],
                "response_tokens_details": [{"modality": "TEXT", "tokenCount": 1}],
            }
        },
        [Usage(2, 1, 3, input_audio_tokens=2, output_text_tokens=1, thoughts_tokens=4)],
        ("gemini",),
    ),
    "empty-message": Shape({}, []),
}
