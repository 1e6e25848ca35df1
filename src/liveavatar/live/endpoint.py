"""Where the backend's own Live client connects, with which credentials and setup."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any, Protocol
from urllib.parse import urlsplit

from google.auth.exceptions import GoogleAuthError

from liveavatar.settings import Settings

from .avatar import avatar_config_json
from .causes import auth_failure_is_permanent
from .connection import LiveOpenError
from .persona import Persona, manual_activity, model_fields
from .raw import Endpoint
from .tools import FunctionSpec, declaration_json
from .trust import live_tls

GEMINI_PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
VERTEX_PATH = "/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent"
CLOUD_SCOPE = "https://www.googleapis.com/auth/cloud-platform"


class EndpointFactory(Protocol):
    """Where to open a connection for `model`; `avatar`: it asks for the native avatar."""

    def __call__(self, model: str, *, avatar: bool = False) -> Awaitable[Endpoint]: ...


# The emulator's stand-in for a Vertex project (it accepts any credential).
EMULATOR_PROJECT = "local-emulator"


def _ws_base(url: str) -> str:
    parts = urlsplit(url)
    scheme = "ws" if parts.scheme in ("http", "ws") else "wss"
    return f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def vertex_host(location: str) -> str:
    """Vertex AI's host for a location, by the SDK's rules: `global` has no region prefix,
    the multi-regions `us`/`eu` have endpoints of their own, a region prefixes the name."""
    if location == "global":
        return "aiplatform.googleapis.com"
    if location in ("us", "eu"):
        return f"aiplatform.{location}.rep.googleapis.com"
    return f"{location}-aiplatform.googleapis.com"


def base_url(settings: Settings) -> str:
    """The configured Live endpoint's base URL (`https://host[:port]`)."""
    if settings.vertex_ai_endpoint:
        return settings.vertex_ai_endpoint
    if settings.live_backend == "vertex":
        return f"https://{vertex_host(settings.vertex_location)}"
    if settings.live_backend == "emulator":
        return settings.emulator_url
    return "https://generativelanguage.googleapis.com"


def endpoint_factory(settings: Settings) -> EndpointFactory:
    """Builds endpoints per connection (Vertex needs a fresh access token each time).

    A Vertex token fetch is bounded by `LIVE_OPEN_TIMEOUT_S` and fails with
    `LiveOpenError` (see `_AccessToken.headers`), so the link retries it like any open.

    The emulator speaks the Gemini API's protocol, except for the native avatar: Live
    renders avatars on Vertex alone (§14.1), so avatar connections go to the emulator's
    Vertex route, as they would to Vertex.
    """
    base = base_url(settings)
    ctx = live_tls(settings, _ws_base(base))
    if settings.live_backend == "vertex":
        token = _AccessToken(settings.live_open_timeout_s)

        async def vertex(model: str, *, avatar: bool = False) -> Endpoint:
            path = (
                f"projects/{settings.project_id}/locations/{settings.vertex_location}"
                f"/publishers/google/models/{model}"
            )
            headers = await token.headers()
            return Endpoint(_ws_base(base) + VERTEX_PATH, headers, path, ctx, vertex=True)

        return vertex
    key = settings.gemini_api_key or settings.emulator_api_key
    headers = {"x-goog-api-key": key.get_secret_value() if key else "local-emulator"}

    async def gemini(model: str, *, avatar: bool = False) -> Endpoint:
        if avatar and settings.live_backend == "emulator":
            path = (
                f"projects/{settings.project_id or EMULATOR_PROJECT}/locations/"
                f"{settings.vertex_location}/publishers/google/models/{model}"
            )
            return Endpoint(_ws_base(base) + VERTEX_PATH, headers, path, ctx, vertex=True)
        return Endpoint(_ws_base(base) + GEMINI_PATH, headers, f"models/{model}", ctx, False)

    return gemini


class _AccessToken:
    """Application Default Credentials, refreshed off the event loop when stale."""

    def __init__(self, timeout_s: float) -> None:
        self._creds: Any = None
        self._lock = asyncio.Lock()
        self._timeout_s = timeout_s
        self._request: Callable[..., Any] | None = None

    async def headers(self) -> dict[str, str]:
        """The handshake's credentials, as the SDK sends them: a valid access token
        (refreshed first if missing or about to expire) and the credentials' quota
        project, which user credentials need to be billed (`x-goog-user-project`).

        Raises:
            LiveOpenError: the credentials could not be loaded or refreshed. Transient (the
                link retries with backoff) when the token endpoint was unreachable, slow or
                answered 5xx; permanent when it refused the credentials or there are none.
        """
        try:
            async with asyncio.timeout(self._timeout_s), self._lock:
                headers = {"Authorization": f"Bearer {await self._fresh_token()}"}
                quota_project = getattr(self._creds, "quota_project_id", None)
                if quota_project:
                    headers["x-goog-user-project"] = str(quota_project)
                return headers
        except GoogleAuthError as exc:
            raise LiveOpenError(
                "Live credentials could not be refreshed",
                permanent=auth_failure_is_permanent(exc),
            ) from exc
        except TimeoutError as exc:
            raise LiveOpenError(
                f"Live credentials were not refreshed within {self._timeout_s:g} s",
                permanent=False,
                stalled=True,
            ) from exc

    async def _fresh_token(self) -> str:
        if self._creds is None:
            import google.auth

            self._creds, _ = await asyncio.to_thread(google.auth.default, scopes=[CLOUD_SCOPE])
        if not self._creds.valid:
            if self._request is None:
                from google.auth.transport.requests import Request

                # The thread must not outlive the bound by google-auth's 120 s default.
                self._request = functools.partial(Request(), timeout=self._timeout_s)
            await asyncio.to_thread(self._creds.refresh, self._request)
        return str(self._creds.token)


def setup_body(
    persona: Persona, declarations: list[FunctionSpec], handle: str | None
) -> dict[str, Any]:
    """The `setup` message (without `model`) for a persona: the same choices as
    `persona.connect_config` makes for the SDK, written in the wire's camelCase."""
    vad = persona.vad
    fields = model_fields(persona)
    speech: dict[str, Any] = {"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": persona.voice}}}
    if persona.language_code:
        speech["languageCode"] = persona.language_code
    modality = "VIDEO" if persona.avatar else "AUDIO"  # the avatar's voice is in its video
    generation: dict[str, Any] = {"responseModalities": [modality], "speechConfig": speech}
    if fields.thinking_level:
        generation["thinkingConfig"] = {"thinkingLevel": fields.thinking_level}
    if fields.media_resolution:
        generation["mediaResolution"] = fields.media_resolution
    if fields.affective_dialog is not None:
        generation["enableAffectiveDialog"] = fields.affective_dialog
    body: dict[str, Any] = {
        "generationConfig": generation,
        "systemInstruction": {"role": "user", "parts": [{"text": persona.system_instruction}]},
        "realtimeInputConfig": {
            "automaticActivityDetection": {
                "disabled": manual_activity(persona),
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
    }
    if fields.compression:
        trigger, target = fields.compression
        body["contextWindowCompression"] = {
            "triggerTokens": trigger,
            "slidingWindow": {"targetTokens": target},
        }
    if persona.avatar is not None:
        body["avatarConfig"] = avatar_config_json(persona.avatar)
    if fields.proactive_audio is not None:
        body["proactivity"] = {"proactiveAudio": fields.proactive_audio}
    tools: list[dict[str, Any]] = [{"googleSearch": {}}] if persona.google_search else []
    if declarations:
        tools.append(
            {"functionDeclarations": [declaration_json(d, fields.model) for d in declarations]}
        )
    if tools:
        body["tools"] = tools
    return body
