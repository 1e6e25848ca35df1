"""A thin Live client of our own on the same protocol as the SDK, for the audio hot path.

Measured with `bench.proxy`, the google-genai SDK spent about 40 % of the backend's CPU
turning every 20 ms audio chunk into typed objects and back (docs/PERFORMANCE.md). This
client sends audio as a pre-built JSON string and reads server messages with one
`json.loads` and a few dict lookups, yielding the same `LiveEvent`s as the SDK path.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from .connection import (
    CLOSE_TIMEOUT_S,
    KEEPALIVE_S,
    OPEN_TIMEOUT_S,
    PERMANENT_CLOSE_CODES,
    PERMANENT_HTTP_STATUSES,
    WS_CLOSE_TIMEOUT_S,
    LiveOpenError,
    LiveSendError,
    keepalive_lost,
)
from .events import (
    AudioOut,
    Closed,
    FunctionCall,
    GenerationComplete,
    GoAway,
    Grounding,
    Handle,
    InputText,
    Interrupted,
    LiveEvent,
    OutputText,
    ToolCall,
    ToolCancel,
    TurnComplete,
    Usage,
    VideoOut,
    interaction_status,
)
from .metadata import Detail, grounding_event, seconds, usage_event
from .outgoing import LiveSender
from .tools import declared_non_blocking
from .utterance import UtterancePolicy, policy_from_setup

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Endpoint:
    """Where and how to open a Live socket: URL, headers, model path, TLS context."""

    url: str
    headers: dict[str, str]
    model: str
    ssl: ssl.SSLContext | None
    vertex: bool


class RawLiveConnection(LiveSender):
    """An open Live session over a plain `websockets` connection."""

    def __init__(
        self,
        ws: ClientConnection,
        vertex: bool,
        utterance: UtterancePolicy,
        non_blocking: frozenset[str] = frozenset(),
        video: bool = False,
    ) -> None:
        """`utterance`: how the end of the user's speech is sent (`utterance.py`);
        `non_blocking`: the functions this connection declared NON_BLOCKING; `video`: it
        asked for the native avatar's video."""
        super().__init__(utterance)
        self._ws = ws
        self._vertex = vertex
        self._non_blocking = non_blocking
        self._video = video
        self._closed = False

    @classmethod
    async def open(
        cls,
        endpoint: Endpoint,
        setup: dict[str, Any],
        *,
        open_timeout_s: float = OPEN_TIMEOUT_S,
        keepalive_s: float = KEEPALIVE_S,
    ) -> RawLiveConnection:
        """Connect, send `setup`, wait for `setupComplete`, all within `open_timeout_s`.

        The open connection pings every `keepalive_s` and gives up on a pong after as long
        again: a far end that stopped (not closed) ends with `Closed(stalled=True)`.

        Raises:
            LiveOpenError: `permanent` for refusals (HTTP 4xx, close 1007/1008); `stalled`
                when the endpoint did not answer within the bound.
        """
        body = {"setup": {"model": endpoint.model, **setup}}
        ws: ClientConnection | None = None
        try:
            async with asyncio.timeout(open_timeout_s):
                ws = await connect(
                    endpoint.url,
                    additional_headers=endpoint.headers,
                    ssl=endpoint.ssl,
                    compression=None,
                    max_size=MAX_MESSAGE_BYTES,
                    open_timeout=None,
                    ping_interval=keepalive_s,
                    ping_timeout=keepalive_s,
                    close_timeout=WS_CLOSE_TIMEOUT_S,
                )
                await ws.send(json.dumps(body, separators=(",", ":")))
                first = json.loads(await ws.recv())
        except InvalidStatus as exc:
            status = exc.response.status_code
            raise LiveOpenError(
                f"Live refused the connection (HTTP {status})",
                permanent=status in PERMANENT_HTTP_STATUSES,
                code=status,
            ) from exc
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd else 1006
            raise LiveOpenError(
                f"Live refused the setup ({code})",
                permanent=code in PERMANENT_CLOSE_CODES,
                code=code,
            ) from exc
        except TimeoutError as exc:
            if ws is not None:
                await _close_quietly(ws)
            raise LiveOpenError(
                f"Live did not answer within {open_timeout_s:g} s", permanent=False, stalled=True
            ) from exc
        except (OSError, ValueError, InvalidURI, InvalidHandshake) as exc:
            # TLS failures are OSErrors; InvalidHandshake: no valid HTTP answer (a proxy's).
            # The cause is logged by the link (`causes.open_failure`).
            if ws is not None:
                await _close_quietly(ws)
            raise LiveOpenError(f"Live unreachable: {type(exc).__name__}", permanent=False) from exc
        if not isinstance(first, dict) or "setupComplete" not in first:
            await _close_quietly(ws)
            raise LiveOpenError("Live answered setup unexpectedly", permanent=True)
        return cls(
            ws,
            endpoint.vertex,
            policy_from_setup(setup, vertex=endpoint.vertex),
            declared_non_blocking(setup.get("tools")),
            asks_video(setup),
        )

    async def _send(self, text: str | bytes) -> None:
        try:
            # Bytes are already UTF-8 JSON: sent as a text frame without decoding them.
            await self._ws.send(text, text=True)
        except (ConnectionClosed, OSError) as exc:
            raise LiveSendError(type(exc).__name__) from exc

    async def events(self) -> AsyncIterator[LiveEvent]:
        stalled = False
        try:
            async for frame in self._ws:
                try:
                    message = json.loads(frame)
                except ValueError:
                    logger.warning("Live sent a frame that is not JSON")
                    continue
                if isinstance(message, dict):
                    for event in translate_json(
                        message,
                        vertex=self._vertex,
                        non_blocking=self._non_blocking,
                        video=self._video,
                    ):
                        yield event
        except ConnectionClosed as exc:
            stalled = keepalive_lost(exc)
        if stalled:
            yield Closed(1006, "keepalive ping timeout", stalled=True)
            return
        rcvd = self._ws.close_code
        yield Closed(rcvd if rcvd is not None else 1006, self._ws.close_reason or "")

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await _close_quietly(self._ws)


async def _close_quietly(ws: ClientConnection) -> None:
    try:
        async with asyncio.timeout(CLOSE_TIMEOUT_S):
            await ws.close()
    except (TimeoutError, OSError):
        # A peer that stopped reading can hold a polite close forever: drop the socket.
        ws.transport.abort()
        logger.info("Live connection closed uncleanly")


def asks_video(setup: dict[str, Any]) -> bool:
    """Whether a setup body asks for the native avatar's video (§14.2)."""
    generation = setup.get("generationConfig") or {}
    return "VIDEO" in (generation.get("responseModalities") or ())


def _b64(data: str) -> bytes:
    # Strict first: the lenient decoder silently drops the URL-safe alphabet's `-` and `_`
    # and returns wrong bytes; the SDK (and so the service's clients) accept both alphabets,
    # with or without padding (reference §2).
    try:
        return binascii.a2b_base64(data, strict_mode=True)
    except binascii.Error:
        return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def _get(d: dict[str, Any], camel: str, snake: str) -> Any:
    """A nested field in either spelling: the SDK's pydantic models accept both (reference
    §2), so this client does too. Top-level keys are camelCase only, as in the SDK."""
    value = d.get(camel)
    return d.get(snake) if value is None else value


def translate_json(
    message: dict[str, Any],
    *,
    vertex: bool,
    non_blocking: frozenset[str] = frozenset(),
    video: bool = False,
) -> list[LiveEvent]:
    """The events in one server message (camelCase, as the service sends), in order;
    calls of the functions in `non_blocking` are marked so; with `video` (the connection
    asked for the native avatar) inline data is the avatar's fMP4, not PCM.

    The same events as `sdk_events.translate` yields for the SDK's parse of the same
    message (tests/unit/live/test_parity.py holds both to every shape in the reference).
    """
    out: list[LiveEvent] = []
    sc = message.get("serverContent")
    if not isinstance(sc, dict):
        sc = None
    else:
        if len(sc) == 1 and len(message) == 1:
            # Nothing but the model's turn (each chunk of its audio): none of the fields
            # below can be there, so only its parts are read.
            turn = sc.get("modelTurn")
            if isinstance(turn, dict):
                _turn_parts(turn, out, video)
                return out
        if sc.get("interrupted"):
            out.append(Interrupted())
        it = _get(sc, "inputTranscription", "input_transcription")
        if isinstance(it, dict) and it.get("text"):
            out.append(InputText(str(it["text"])))
        turn = _get(sc, "modelTurn", "model_turn")
        if isinstance(turn, dict):
            _turn_parts(turn, out, video)
        ot = _get(sc, "outputTranscription", "output_transcription")
        if isinstance(ot, dict) and ot.get("text"):
            out.append(OutputText(str(ot["text"])))
        grounding = _grounding(_get(sc, "groundingMetadata", "grounding_metadata"))
        if grounding is not None:
            out.append(grounding)
        if _get(sc, "generationComplete", "generation_complete"):
            out.append(GenerationComplete())
    usage = _usage(message.get("usageMetadata"), vertex)
    if usage is not None:
        out.append(usage)  # before TurnComplete: it belongs to the turn still open
    if sc is not None and _get(sc, "turnComplete", "turn_complete"):
        status = _get(sc, "interactionStatus", "interaction_status")
        out.append(TurnComplete(interaction_status(str(status) if status else None)))
    tc = message.get("toolCall")
    calls = _get(tc, "functionCalls", "function_calls") if isinstance(tc, dict) else None
    if calls:
        out.append(
            ToolCall(
                tuple(
                    FunctionCall(
                        str(fc.get("id") or ""),
                        str(fc.get("name") or ""),
                        fc.get("args") or {},
                        str(fc.get("name") or "") in non_blocking,
                    )
                    for fc in calls
                )
            )
        )
    cancel = message.get("toolCallCancellation")
    if isinstance(cancel, dict) and cancel.get("ids"):
        out.append(ToolCancel(tuple(str(i) for i in cancel["ids"])))
    update = message.get("sessionResumptionUpdate")
    if isinstance(update, dict) and update.get("resumable"):
        handle = _get(update, "newHandle", "new_handle")
        if handle:
            out.append(Handle(str(handle)))
    go_away = message.get("goAway")
    if isinstance(go_away, dict):
        out.append(GoAway(seconds(_get(go_away, "timeLeft", "time_left"))))
    return out


def _turn_parts(turn: dict[str, Any], out: list[LiveEvent], video: bool) -> None:
    for part in turn.get("parts") or ():
        if not isinstance(part, dict):
            continue
        inline = _get(part, "inlineData", "inline_data")
        if isinstance(inline, dict) and inline.get("data"):
            data = _b64(inline["data"])
            out.append(VideoOut(data) if video else AudioOut(data))
        elif part.get("text") and not part.get("thought"):
            out.append(OutputText(str(part["text"])))


def _usage(meta: Any, vertex: bool) -> Usage | None:
    if not isinstance(meta, dict):
        return None

    def get(camel: str, snake: str) -> Any:
        # Vertex: the SDK reads camelCase only (its converter), the Gemini API both.
        return meta.get(camel) if vertex else _get(meta, camel, snake)

    # Vertex names the response side `candidates…`; the SDK maps those names and drops
    # `responseTokenCount`/`responseTokensDetails` in Vertex mode (reference §5.7).
    out = "candidates" if vertex else "response"
    return usage_event(
        prompt=get("promptTokenCount", "prompt_token_count"),
        response=get(f"{out}TokenCount", f"{out}_token_count"),
        total=get("totalTokenCount", "total_token_count"),
        thoughts=get("thoughtsTokenCount", "thoughts_token_count"),
        tool_use_prompt=get("toolUsePromptTokenCount", "tool_use_prompt_token_count"),
        prompt_details=_details(get("promptTokensDetails", "prompt_tokens_details")),
        response_details=_details(get(f"{out}TokensDetails", f"{out}_tokens_details")),
    )


def _details(items: Any) -> list[Detail]:
    if not isinstance(items, list):
        return []
    return [
        (item.get("modality"), _get(item, "tokenCount", "token_count"))
        for item in items
        if isinstance(item, dict)
    ]


def _grounding(meta: Any) -> Grounding | None:
    if not isinstance(meta, dict):
        return None
    chunks = _get(meta, "groundingChunks", "grounding_chunks")
    webs = [_get(c, "web", "web") for c in chunks or () if isinstance(c, dict)]
    queries = _get(meta, "webSearchQueries", "web_search_queries")
    return grounding_event(
        ((w.get("title"), w.get("uri"), w.get("domain")) for w in webs if isinstance(w, dict)),
        queries if isinstance(queries, list) else (),
    )
