"""The google-genai SDK's client for the configured Live backend: endpoint, credentials,
trust and the Live socket's keepalive."""

from __future__ import annotations

from typing import Any

from google import genai
from google.genai import types

from liveavatar.settings import Settings

from .connection import WS_CLOSE_TIMEOUT_S
from .endpoint import base_url
from .trust import ca_context


def build_client(settings: Settings) -> tuple[genai.Client, str]:
    """The SDK client for the configured Live backend, and a label for logs.

    The emulator and any `VERTEX_AI_ENDPOINT` are reached through `base_url`, trusting
    `LIVE_CA_FILE` (the emulator's certificate) when given; production uses the SDK's
    defaults (API key, or Vertex AI with Application Default Credentials). The Live
    socket's keepalive is bounded by `LIVE_STALL_TIMEOUT_S` like our own client's: the SDK
    hands the `async_client_args` that `websockets.connect` accepts to its Live socket
    (and drops them from its HTTP client).
    """
    options = http_options(settings)
    if settings.live_backend == "vertex":
        client = genai.Client(
            vertexai=True,
            project=settings.project_id,
            location=settings.vertex_location,
            http_options=options,
        )
        return client, "vertex"
    key = settings.gemini_api_key or settings.emulator_api_key
    api_key = key.get_secret_value() if key else "local-emulator"
    return genai.Client(api_key=api_key, http_options=options), settings.live_backend


def http_options(settings: Settings) -> types.HttpOptions:
    """The SDK's options for the configured endpoint (`build_client`)."""
    http: dict[str, Any] = {}
    if settings.vertex_ai_endpoint or settings.live_backend == "emulator":
        http["base_url"] = base_url(settings)
    socket_args: dict[str, Any] = {
        "ping_interval": settings.live_stall_timeout_s,
        "ping_timeout": settings.live_stall_timeout_s,
        "close_timeout": WS_CLOSE_TIMEOUT_S,
    }
    ctx = ca_context(settings)
    if ctx is not None:
        socket_args["ssl"] = ctx
    http["async_client_args"] = socket_args
    return types.HttpOptions(**http)
