"""Where the backend's own Live client connects, with which credentials and setup."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from google.genai import types

from liveavatar.settings import Settings

from .connection import ca_context
from .persona import Persona
from .raw import Endpoint

GEMINI_PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
VERTEX_PATH = "/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent"
CLOUD_SCOPE = "https://www.googleapis.com/auth/cloud-platform"

EndpointFactory = Callable[[str], Awaitable[Endpoint]]


def _ws_base(url: str) -> str:
    parts = urlsplit(url)
    scheme = "ws" if parts.scheme in ("http", "ws") else "wss"
    return f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def base_url(settings: Settings) -> str:
    """The configured Live endpoint's base URL (`https://host[:port]`)."""
    if settings.vertex_ai_endpoint:
        return settings.vertex_ai_endpoint
    if settings.live_backend == "vertex":
        return f"https://{settings.vertex_location}-aiplatform.googleapis.com"
    if settings.live_backend == "emulator":
        return "https://127.0.0.1:9000"
    return "https://generativelanguage.googleapis.com"


def endpoint_factory(settings: Settings) -> EndpointFactory:
    """Builds endpoints per connection (Vertex needs a fresh access token each time)."""
    ctx = ca_context(settings)
    base = base_url(settings)
    if settings.live_backend == "vertex":
        token = _AccessToken()

        async def vertex(model: str) -> Endpoint:
            path = (
                f"projects/{settings.project_id}/locations/{settings.vertex_location}"
                f"/publishers/google/models/{model}"
            )
            headers = {"Authorization": f"Bearer {await token.get()}"}
            return Endpoint(_ws_base(base) + VERTEX_PATH, headers, path, ctx, vertex=True)

        return vertex
    key = settings.gemini_api_key or settings.emulator_api_key
    headers = {"x-goog-api-key": key.get_secret_value() if key else "local-emulator"}

    async def gemini(model: str) -> Endpoint:
        return Endpoint(_ws_base(base) + GEMINI_PATH, headers, f"models/{model}", ctx, False)

    return gemini


class _AccessToken:
    """Application Default Credentials, refreshed off the event loop when stale."""

    def __init__(self) -> None:
        self._creds: Any = None
        self._lock = asyncio.Lock()

    async def get(self) -> str:
        async with self._lock:
            if self._creds is None:
                import google.auth

                self._creds, _ = await asyncio.to_thread(google.auth.default, scopes=[CLOUD_SCOPE])
            if not self._creds.valid:
                from google.auth.transport.requests import Request

                await asyncio.to_thread(self._creds.refresh, Request())
            return str(self._creds.token)


def setup_body(
    persona: Persona, declarations: list[types.FunctionDeclaration], handle: str | None
) -> dict[str, Any]:
    """The `setup` message (without `model`) for a persona: the same choices as
    `persona.connect_config` makes for the SDK, written in the wire's camelCase."""
    vad = persona.vad
    speech: dict[str, Any] = {"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": persona.voice}}}
    if persona.language_code:
        speech["languageCode"] = persona.language_code
    body: dict[str, Any] = {
        "generationConfig": {"responseModalities": ["AUDIO"], "speechConfig": speech},
        "systemInstruction": {"role": "user", "parts": [{"text": persona.system_instruction}]},
        "realtimeInputConfig": {
            "automaticActivityDetection": {
                "disabled": vad.disabled,
                "startOfSpeechSensitivity": f"START_SENSITIVITY_{vad.start_sensitivity}",
                "endOfSpeechSensitivity": f"END_SENSITIVITY_{vad.end_sensitivity}",
                "prefixPaddingMs": vad.prefix_padding_ms,
                "silenceDurationMs": vad.silence_duration_ms,
            },
            "activityHandling": "START_OF_ACTIVITY_INTERRUPTS",
        },
        "inputAudioTranscription": {},
        "outputAudioTranscription": {},
        "sessionResumption": {"handle": handle} if handle else {},
        "contextWindowCompression": {
            "triggerTokens": 25_600,
            "slidingWindow": {"targetTokens": 12_800},
        },
    }
    if declarations:
        body["tools"] = [
            {
                "functionDeclarations": [
                    d.model_dump(mode="json", by_alias=True, exclude_none=True)
                    for d in declarations
                ]
            }
        ]
    return body
