"""How the backend reaches Live for a persona: the configured client (ours or the SDK),
its endpoint and credentials, the persona's setup, bounded opens and the stall guard."""

from __future__ import annotations

from collections.abc import Callable

from google import genai
from google.genai import types

from liveavatar.settings import Settings
from liveavatar.tools import ToolRegistry

from .connection import OPEN_TIMEOUT_S, LiveChannel, LiveConnection
from .endpoint import endpoint_factory, setup_body
from .guard import guarded
from .health import LiveHealth
from .link import Opener
from .persona import Persona, connect_config
from .picows_client import PicowsLiveConnection
from .raw import RawLiveConnection


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

    def opener_for(persona: Persona) -> Opener:
        declarations = [d for d in tools.declarations() if d.name in persona.tools]
        if settings.live_client == "sdk":
            opener = sdk_opener(
                client,
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
