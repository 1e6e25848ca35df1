"""One Live WebSocket connection through the google-genai SDK, as a stream of LiveEvents."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any, Protocol

from google import genai
from google.auth.exceptions import GoogleAuthError
from google.genai import errors, types
from google.genai.live import AsyncSession
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from liveavatar.settings import Settings

from .causes import auth_failure_is_permanent
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
from .metadata import Detail, grounding_event, usage_event
from .tools import ToolResponse
from .utterance import EndBy, UtterancePolicy, policy_from_config

logger = logging.getLogger(__name__)

OPEN_TIMEOUT_S = 5.0  # default per attempt; LIVE_OPEN_TIMEOUT_S in production
KEEPALIVE_S = 10.0  # default ping interval and pong timeout; LIVE_STALL_TIMEOUT_S
CLOSE_TIMEOUT_S = 2.0
# The socket's own close handshake gives up (and drops the TCP connection) before our
# CLOSE_TIMEOUT_S does: a peer that stopped reading must not keep the socket open.
WS_CLOSE_TIMEOUT_S = 1.0
# Close codes after which retrying the same setup cannot succeed.
PERMANENT_CLOSE_CODES = frozenset({1007, 1008})
PERMANENT_HTTP_STATUSES = frozenset({400, 401, 403, 404})
_DURATION = re.compile(r"^\s*([0-9.]+)s\s*$")
AUDIO_MIME = "audio/pcm;rate=16000"


class LiveChannel(Protocol):
    """One open Live connection, whichever client implements it.

    `audio_stream_end()` says the microphone went off: the connection ends the user's
    utterance the way its backend and setup accept (`audioStreamEnd`, `activityEnd` or
    trailing silence; see `utterance.py`).
    """

    async def send_audio(self, pcm: bytes) -> None: ...
    async def audio_stream_end(self) -> None: ...
    async def send_text(self, text: str) -> None: ...
    async def send_video(self, data: bytes, mime_type: str) -> None: ...
    async def send_tool_responses(self, responses: list[ToolResponse]) -> None: ...
    def events(self) -> AsyncIterator[LiveEvent]: ...
    async def close(self) -> None: ...


class LiveSendError(Exception):
    """Sending on a connection that is closing; the link recovers from its close event."""


class LiveOpenError(Exception):
    """Opening a Live connection failed; `permanent` means retrying will not help.

    `stalled` means the endpoint did not answer within the open bound (as opposed to
    refusing or being unreachable at once).
    """

    def __init__(
        self, message: str, *, permanent: bool, code: int | None = None, stalled: bool = False
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code
        self.stalled = stalled


def keepalive_lost(exc: ConnectionClosed) -> bool:
    """Whether `websockets` closed the connection because a keepalive ping went unanswered.

    The library then sends 1011 itself and receives no close frame; the far end never
    answered, which is a stall rather than a close.
    """
    return exc.rcvd is None and exc.sent is not None and exc.sent.code == 1011


def ca_context(settings: Settings) -> ssl.SSLContext | None:
    """Trust the configured CA (the emulator's certificate) instead of the system store."""
    ca = settings.live_ca_file
    if ca is None and settings.live_backend == "emulator":
        ca = settings.emulator_cert_dir / "cert.pem"
    return ssl.create_default_context(cafile=str(ca)) if ca is not None else None


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
        from .endpoint import base_url  # endpoint builds on this module's errors

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


class LiveConnection:
    """An open Live session. `events()` yields until the connection ends with `Closed`."""

    def __init__(
        self,
        session: AsyncSession,
        stack: AsyncExitStack,
        utterance: UtterancePolicy,
        non_blocking: frozenset[str] = frozenset(),
        video: bool = False,
    ) -> None:
        """`utterance`: how the end of the user's speech is sent (`utterance.py`);
        `non_blocking`: the functions this connection declared NON_BLOCKING; `video`: it
        asked for the native avatar's video."""
        self._session = session
        self._stack = stack
        self._utterance = utterance
        self._non_blocking = non_blocking
        self._video = video
        self._activity_open = False  # manual activity: activityStart sent, no activityEnd yet
        self._closed = False

    @classmethod
    async def open(
        cls,
        client: genai.Client,
        model: str,
        config: types.LiveConnectConfig,
        *,
        open_timeout_s: float = OPEN_TIMEOUT_S,
    ) -> LiveConnection:
        """Connect and complete setup, within `open_timeout_s`.

        Raises:
            LiveOpenError: with `permanent` set for refusals (bad key, unknown model,
                invalid setup), clear for transient failures (network, 1011, timeout);
                `stalled` when the bound ran out.
        """
        stack = AsyncExitStack()
        try:
            async with asyncio.timeout(open_timeout_s):
                session = await stack.enter_async_context(
                    client.aio.live.connect(model=model, config=config)
                )
        except errors.APIError as exc:
            await _quiet_close(stack)
            permanent = exc.code in PERMANENT_CLOSE_CODES
            raise LiveOpenError(
                f"Live refused the setup ({exc.code})", permanent=permanent, code=exc.code
            ) from exc
        except InvalidStatus as exc:
            await _quiet_close(stack)
            status = exc.response.status_code
            raise LiveOpenError(
                f"Live refused the connection (HTTP {status})",
                permanent=status in PERMANENT_HTTP_STATUSES,
                code=status,
            ) from exc
        except TimeoutError as exc:
            await _quiet_close(stack)
            raise LiveOpenError(
                f"Live did not answer within {open_timeout_s:g} s", permanent=False, stalled=True
            ) from exc
        except (OSError, ssl.SSLError, InvalidHandshake) as exc:
            await _quiet_close(stack)
            raise LiveOpenError(f"Live unreachable: {type(exc).__name__}", permanent=False) from exc
        except GoogleAuthError as exc:
            # Vertex: the SDK refreshes Application Default Credentials inside connect().
            await _quiet_close(stack)
            raise LiveOpenError(
                "Live credentials could not be refreshed",
                permanent=auth_failure_is_permanent(exc),
            ) from exc
        except BaseException:
            await _quiet_close(stack)
            raise
        non_blocking = frozenset(
            d.name or ""
            for tool in config.tools or ()
            if isinstance(tool, types.Tool)
            for d in tool.function_declarations or ()
            if d.behavior == types.Behavior.NON_BLOCKING
        )
        utterance = policy_from_config(config, vertex=bool(client.vertexai))
        video = types.Modality.VIDEO in (config.response_modalities or ())
        return cls(session, stack, utterance, non_blocking, video)

    async def send_audio(self, pcm: bytes) -> None:
        if self._utterance.manual and not self._activity_open:
            self._activity_open = True
            await self._send(activity_start=types.ActivityStart())
        await self._send(audio=types.Blob(data=pcm, mime_type=AUDIO_MIME))

    async def audio_stream_end(self) -> None:
        """The microphone went off: end the utterance the way this backend and setup
        accept (`utterance.py`)."""
        end_by = self._utterance.end_by
        if end_by is EndBy.STREAM_END:
            await self._send(audio_stream_end=True)
        elif end_by is EndBy.ACTIVITY_END:
            if self._activity_open:
                self._activity_open = False
                await self._send(activity_end=types.ActivityEnd())
        else:
            for pcm in self._utterance.silence():
                await self._send(audio=types.Blob(data=pcm, mime_type=AUDIO_MIME))

    async def send_text(self, text: str) -> None:
        await self._send(text=text)

    async def send_video(self, data: bytes, mime_type: str) -> None:
        await self._send(video=types.Blob(data=data, mime_type=mime_type))

    async def send_tool_responses(self, responses: list[ToolResponse]) -> None:
        # As the SDK sends `scheduling`: beside `response` (reference §13.2, shape A).
        converted = [
            types.FunctionResponse(
                id=r.id,
                name=r.name,
                response=r.response,
                scheduling=types.FunctionResponseScheduling(r.scheduling) if r.scheduling else None,
            )
            for r in responses
        ]
        try:
            await self._session.send_tool_response(function_responses=converted)
        except (ConnectionClosed, OSError) as exc:
            raise LiveSendError(type(exc).__name__) from exc

    async def _send(self, **kwargs: Any) -> None:
        try:
            await self._session.send_realtime_input(**kwargs)
        except (ConnectionClosed, OSError) as exc:
            raise LiveSendError(type(exc).__name__) from exc

    async def events(self) -> AsyncIterator[LiveEvent]:
        try:
            while True:
                async for message in self._session.receive():
                    for event in translate(message, self._non_blocking, video=self._video):
                        yield event
        except errors.APIError as exc:
            # The SDK turns the socket's close into an APIError raised while handling it.
            lost = exc.__context__
            if isinstance(lost, ConnectionClosed) and keepalive_lost(lost):
                yield Closed(1006, "keepalive ping timeout", stalled=True)
            else:
                yield Closed(exc.code, str(exc.details or ""))
        except (OSError, ValueError) as exc:
            yield Closed(1006, type(exc).__name__)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await _quiet_close(self._stack)


async def _quiet_close(stack: AsyncExitStack) -> None:
    try:
        async with asyncio.timeout(CLOSE_TIMEOUT_S):
            await stack.aclose()
    except (TimeoutError, OSError, errors.APIError) as exc:
        logger.info("Live connection closed uncleanly", extra={"error": type(exc).__name__})


def translate(
    message: types.LiveServerMessage,
    non_blocking: frozenset[str] = frozenset(),
    *,
    video: bool = False,
) -> list[LiveEvent]:
    """The events in one server message, in the order a client should act on them; calls
    of the functions in `non_blocking` are marked so; with `video` (the connection asked
    for the native avatar) inline data is the avatar's fMP4, not PCM.

    The same events as `raw.translate_json` yields for the wire JSON the SDK parsed
    (tests/unit/live/test_parity.py holds both to every shape in the reference).
    """
    out: list[LiveEvent] = []
    sc = message.server_content
    if sc is not None:
        if sc.interrupted:
            out.append(Interrupted())
        if sc.input_transcription and sc.input_transcription.text:
            out.append(InputText(sc.input_transcription.text))
        if sc.model_turn and sc.model_turn.parts:
            for part in sc.model_turn.parts:
                if part.inline_data and part.inline_data.data:
                    data = part.inline_data.data
                    out.append(VideoOut(data) if video else AudioOut(data))
                elif part.text and not part.thought:
                    out.append(OutputText(part.text))
        if sc.output_transcription and sc.output_transcription.text:
            out.append(OutputText(sc.output_transcription.text))
        if sc.grounding_metadata is not None:
            grounding = _grounding(sc.grounding_metadata)
            if grounding is not None:
                out.append(grounding)
        if sc.generation_complete:
            out.append(GenerationComplete())
    if message.usage_metadata is not None:
        # Wherever it arrives; before TurnComplete, as it belongs to the turn still open.
        out.append(_usage(message.usage_metadata))
    if sc is not None and sc.turn_complete:
        status = sc.interaction_status
        out.append(TurnComplete(interaction_status(status.value if status else None)))
    if message.tool_call and message.tool_call.function_calls:
        out.append(
            ToolCall(
                tuple(
                    FunctionCall(
                        fc.id or "",
                        fc.name or "",
                        dict(fc.args or {}),
                        (fc.name or "") in non_blocking,
                    )
                    for fc in message.tool_call.function_calls
                )
            )
        )
    if message.tool_call_cancellation and message.tool_call_cancellation.ids:
        out.append(ToolCancel(tuple(message.tool_call_cancellation.ids)))
    update = message.session_resumption_update
    if update and update.resumable and update.new_handle:
        out.append(Handle(update.new_handle))
    if message.go_away is not None:
        out.append(GoAway(seconds(message.go_away.time_left)))
    return out


def _usage(meta: types.UsageMetadata) -> Usage:
    # The SDK already mapped Vertex's `candidates…` names to `response_…` (reference §5.7).
    return usage_event(
        prompt=meta.prompt_token_count,
        response=meta.response_token_count,
        total=meta.total_token_count,
        thoughts=meta.thoughts_token_count,
        tool_use_prompt=meta.tool_use_prompt_token_count,
        prompt_details=_details(meta.prompt_tokens_details),
        response_details=_details(meta.response_tokens_details),
    )


def _details(items: list[types.ModalityTokenCount] | None) -> list[Detail]:
    return [
        # An enum member, or the bare string for a modality newer than this SDK.
        (str(getattr(d.modality, "value", d.modality) or ""), d.token_count)
        for d in items or ()
    ]


def _grounding(meta: types.GroundingMetadata) -> Grounding | None:
    webs = [c.web for c in meta.grounding_chunks or () if c.web is not None]
    return grounding_event(
        ((w.title, w.uri, w.domain) for w in webs), meta.web_search_queries or ()
    )


def seconds(value: Any) -> float:
    """A protobuf duration ("50s") or a number, in seconds."""
    if isinstance(value, int | float):
        return float(value)
    with contextlib.suppress(AttributeError):
        return float(value.total_seconds())
    m = _DURATION.match(str(value or ""))
    return float(m.group(1)) if m else 0.0
