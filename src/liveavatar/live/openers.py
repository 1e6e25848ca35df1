"""How the backend reaches Live for a persona: the configured client (ours or the SDK),
its endpoint and credentials, the persona's setup, bounded opens and the stall guard."""

from __future__ import annotations

from collections.abc import Callable

from google import genai
from google.genai import types

from liveavatar.settings import Settings
from liveavatar.tools import ToolRegistry

from .connection import OPEN_TIMEOUT_S, LiveChannel, LiveConnection
from .endpoint import EMULATOR_PROJECT, endpoint_factory, setup_body
from .guard import guarded
from .health import LiveHealth
from .link import Opener
from .persona import Persona, connect_config
from .picows_client import PicowsLiveConnection
from .raw import RawLiveConnection
from .sdk_client import http_options


def make_opener_for(
    settings: Settings,
    client: genai.Client,
    tools: ToolRegistry,
    health: LiveHealth | None = None,
) -> Callable[[Persona], Opener]:
    """Openers for a persona's Live connections through the configured client.

    `LIVE_CLIENT=picows` (the default) is our thin client on the picows WebSocket
    library, `raw` the same client on `websockets`, `sdk` is google-genai. All speak the
    same protocol and yield the same events; see docs/PERFORMANCE.md for why. Either way
    an open is bounded by `LIVE_OPEN_TIMEOUT_S`, and an open connection that stops
    answering is dropped after `LIVE_STALL_TIMEOUT_S` (live/guard.py); `health` hears of
    opens and stalls.
    """
    endpoint = endpoint_factory(settings)
    open_s, stall_s = settings.live_open_timeout_s, settings.live_stall_timeout_s
    avatar_client: genai.Client | None = None

    def sdk_client(persona: Persona) -> genai.Client:
        # The emulator serves avatars on its Vertex route alone, as Live does (§14.1).
        nonlocal avatar_client
        if persona.avatar is None or settings.live_backend != "emulator":
            return client
        if avatar_client is None:
            avatar_client = emulator_vertex_client(settings)
        return avatar_client

    def opener_for(persona: Persona) -> Opener:
        declarations = [d for d in tools.declarations() if d.name in persona.tools]
        if settings.live_client == "sdk":
            opener = sdk_opener(
                sdk_client(persona),
                persona.model,
                lambda handle: connect_config(persona, declarations, handle),
                open_timeout_s=open_s,
            )
        else:
            own = PicowsLiveConnection if settings.live_client == "picows" else RawLiveConnection

            async def open_raw(handle: str | None) -> LiveChannel:
                return await own.open(
                    await endpoint(persona.model, avatar=persona.avatar is not None),
                    setup_body(persona, declarations, handle),
                    open_timeout_s=open_s,
                    keepalive_s=stall_s,
                )

            opener = open_raw
        return guarded(opener, stall_timeout_s=stall_s, health=health)

    return opener_for


def emulator_vertex_client(settings: Settings) -> genai.Client:
    """An SDK client for the emulator's Vertex route (any token is accepted there)."""
    from google.oauth2.credentials import Credentials

    key = settings.emulator_api_key
    token = key.get_secret_value() if key else "local-emulator"
    return genai.Client(
        vertexai=True,
        project=settings.project_id or EMULATOR_PROJECT,
        location=settings.vertex_location,
        credentials=Credentials(token=token),  # type: ignore[no-untyped-call]
        http_options=http_options(settings),
    )


def sdk_opener(
    client: genai.Client,
    model: str,
    config_for: Callable[[str | None], types.LiveConnectConfig],
    *,
    open_timeout_s: float = OPEN_TIMEOUT_S,
) -> Opener:
    """Open connections through the SDK with the setup for a given resumption handle."""

    async def open_(handle: str | None) -> LiveChannel:
        return await LiveConnection.open(
            client, model, config_for(handle), open_timeout_s=open_timeout_s
        )

    return open_
