"""One Live WebSocket connection through the google-genai SDK, as a stream of LiveEvents,
and what every Live client shares: the channel's interface, its errors and bounds.

The SDK's client is built in `sdk_client.py`; its server messages become events in
`sdk_events.py`.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any, Protocol

from google import genai
from google.auth.exceptions import GoogleAuthError
from google.genai import errors, types
from google.genai.live import AsyncSession
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from .causes import auth_failure_is_permanent
from .events import Closed, LiveEvent
from .sdk_events import translate
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
