"""Both Live clients on a socket that records what they send, with no network.

The SDK runs its own `AsyncLive.connect` (so its converters are called exactly as in
production) against a stand-in for `websockets`; our raw client runs `RawLiveConnection.open`
against the same stand-in. Both are built from `Settings` the way `server/app.py` builds
them, for the Gemini API and for Vertex (Application Default Credentials stubbed).
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import AsyncIterator, Iterable
from typing import Any, Literal

import google.auth
import pytest
from google.genai import live as sdk_live
from google.genai import types
from google.oauth2.credentials import Credentials

from liveavatar.live import raw
from liveavatar.live.connection import LiveConnection
from liveavatar.live.endpoint import endpoint_factory, setup_body
from liveavatar.live.persona import Persona, connect_config
from liveavatar.live.raw import RawLiveConnection
from liveavatar.live.sdk_client import build_client
from liveavatar.settings import Settings

Backend = Literal["gemini", "vertex"]
BACKENDS: tuple[Backend, ...] = ("gemini", "vertex")
PROJECT = "parity-proj"
SETUP_COMPLETE = b'{"setupComplete":{}}'


class Socket:
    """Stands in for a `websockets` client connection: records sends, replays frames."""

    close_code = 1000
    close_reason = ""

    def __init__(self, frames: Iterable[bytes] = (SETUP_COMPLETE,)) -> None:
        self.sent: list[str] = []
        self.frames: deque[bytes] = deque(frames)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        """The frames left, as the raw client reads them; then a normal close."""
        while self.frames:
            yield self.frames.popleft()

    async def __aenter__(self) -> Socket:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def send(self, message: str | bytes, text: bool | None = None) -> None:
        self.sent.append(message if isinstance(message, str) else message.decode())

    async def recv(self, decode: bool | None = None) -> bytes:
        return self.frames.popleft()

    async def close(self) -> None:
        return None

    def messages(self) -> list[dict[str, Any]]:
        return [json.loads(m) for m in self.sent]


def settings(backend: Backend) -> Settings:
    """Production Live settings for `backend` (no emulator, no endpoint override)."""
    values: dict[str, Any] = {
        "live_backend": backend,
        "vertex_ai_endpoint": None,
        "live_ca_file": None,
        "project_id": PROJECT,
        "vertex_location": "us-central1",
        "gemini_api_key": "AIza-parity-test-key" if backend == "gemini" else None,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def stub_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """ADC for Vertex without Google: a token that never needs a refresh."""

    def default(*args: object, **kwargs: object) -> tuple[Credentials, str]:
        return Credentials(token="adc-token"), PROJECT  # type: ignore[no-untyped-call]

    monkeypatch.setattr(google.auth, "default", default)


async def open_sdk(
    monkeypatch: pytest.MonkeyPatch,
    backend: Backend,
    model: str,
    config: types.LiveConnectConfig,
    frames: Iterable[bytes] = (),
) -> tuple[LiveConnection, Socket]:
    """Open the SDK client as `server/app.py` does; returns its connection and socket,
    which then replays `frames`."""
    stub_credentials(monkeypatch)
    sock = Socket([SETUP_COMPLETE, *frames])
    monkeypatch.setattr(sdk_live, "ws_connect", lambda uri, **kw: sock)
    client, _ = build_client(settings(backend))
    return await LiveConnection.open(client, model, config), sock


async def open_raw(
    monkeypatch: pytest.MonkeyPatch,
    backend: Backend,
    model: str,
    setup: dict[str, Any],
    frames: Iterable[bytes] = (),
) -> tuple[RawLiveConnection, Socket]:
    """Open our raw client as `server/app.py` does; returns its connection and socket,
    which then replays `frames`."""
    stub_credentials(monkeypatch)
    sock = Socket([SETUP_COMPLETE, *frames])

    async def connect(url: str, **kwargs: object) -> Socket:
        return sock

    monkeypatch.setattr(raw, "connect", connect)
    endpoint = await endpoint_factory(settings(backend))(model)
    return await RawLiveConnection.open(endpoint, setup), sock


async def sdk_setup(
    monkeypatch: pytest.MonkeyPatch, backend: Backend, persona: Persona, decls: Any, handle: Any
) -> dict[str, Any]:
    """The `setup` message the SDK sends for `connect_config(persona, …)`."""
    config = connect_config(persona, decls, handle)
    conn, sock = await open_sdk(monkeypatch, backend, persona.model, config)
    await conn.close()
    return sock.messages()[0]


async def raw_setup(
    monkeypatch: pytest.MonkeyPatch, backend: Backend, persona: Persona, decls: Any, handle: Any
) -> dict[str, Any]:
    """The `setup` message our raw client sends for `setup_body(persona, …)`."""
    _, sock = await open_raw(
        monkeypatch, backend, persona.model, setup_body(persona, decls, handle)
    )
    return sock.messages()[0]


# Values whose keys are data, not protocol fields: left exactly as sent (reference §2).
_FREE_FORM = frozenset({"parametersJsonSchema", "responseJsonSchema", "args", "response", "labels"})


def _camel(key: str) -> str:
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), key)


def camel_keys(value: Any, *, names: bool = False) -> Any:
    """`value` with every protocol key in camelCase: the service reads either spelling
    (reference §2), and the SDK mixes them. Schema property names are kept as they are."""
    if isinstance(value, list):
        return [camel_keys(v) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        k = key if names else _camel(key)
        if k in _FREE_FORM:
            out[k] = item
        else:
            out[k] = camel_keys(item, names=k == "properties")
    return out


async def sdk_receive(
    monkeypatch: pytest.MonkeyPatch, backend: Backend, message: dict[str, Any]
) -> types.LiveServerMessage:
    """`message` as the SDK's session parses it off the socket (`AsyncSession._receive`,
    which picks the Gemini API or Vertex converter from the client)."""
    stub_credentials(monkeypatch)
    client, _ = build_client(settings(backend))
    session = sdk_live.AsyncSession(
        api_client=client._api_client,
        websocket=Socket([json.dumps(message).encode()]),  # type: ignore[arg-type]
    )
    return await session._receive()
