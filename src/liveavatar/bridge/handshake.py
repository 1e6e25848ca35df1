"""From an accepted socket to a session that may start: `hello`, the persona's voice, who
may resume what, and what `ready` needs to say. No state of its own."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

from starlette.websockets import WebSocket

from liveavatar import protocol as p
from liveavatar.bridge.capacity import HelloTicket
from liveavatar.errors import (
    HelloTimeout,
    ProtocolError,
    RecoverableProtocolError,
    UnsupportedVersion,
)
from liveavatar.live.persona import PREBUILT_VOICES, Persona
from liveavatar.media import MediaStore
from liveavatar.media.avatar import list_avatar_media, sign_avatar_media
from liveavatar.metrics import Metrics
from liveavatar.personas import ActivePersona
from liveavatar.store import Store

from .handles import HandleDirectory, Lookup, Resumable
from .ids import is_session_id, log_ref
from .inbound import receive_frame
from .running import RunningSessions

logger = logging.getLogger(__name__)


async def receive_hello(ws: WebSocket, timeout_s: float, ticket: HelloTicket | None) -> p.Hello:
    """The first frame, which must be a valid `hello` of our version, within `timeout_s`.

    Raises `HelloTimeout` (4408), `ProtocolError` (4400) or `UnsupportedVersion` (4426);
    either way the socket no longer counts as waiting for `hello`.
    """
    try:
        async with asyncio.timeout(timeout_s):
            msg = await receive_frame(ws)
    except TimeoutError as exc:
        raise HelloTimeout("No hello received in time.") from exc
    except RecoverableProtocolError as exc:
        # Nothing is established before hello: a bad first frame ends the session.
        raise ProtocolError(f"The first message must be a valid hello. {exc}") from exc
    finally:
        if ticket is not None:
            ticket.done()
    if not isinstance(msg, p.Hello):
        # Audio or anything else before hello is a protocol violation.
        raise ProtocolError("The first message must be hello.")
    if not p.MIN_PROTOCOL_VERSION <= msg.version <= p.PROTOCOL_VERSION:
        raise UnsupportedVersion(
            f"Protocol version {msg.version} is not supported; use {p.PROTOCOL_VERSION}."
        )
    return msg


def with_voice(persona: Persona, voice: str | None) -> Persona:
    """The persona with the voice the page asked for, if it is a prebuilt one."""
    if voice is None:
        return persona
    name = voice.strip().capitalize()
    if name not in PREBUILT_VOICES:
        raise ProtocolError(f"Unknown voice {voice[:40]!r}.")
    return dataclasses.replace(persona, voice=name)


@dataclasses.dataclass(frozen=True)
class Resumption:
    """Where resumption state lives on this instance, and what it counts."""

    handles: HandleDirectory
    running: RunningSessions
    metrics: Metrics
    take_over_timeout_s: float

    async def find(self, session_id: str | None, owner: str, uid: str) -> Resumable | None:
        """The session `hello` asks to resume, if `owner` owns it; None: start fresh.

        A foreign id is never resumed: the caller gets a new session (and learns nothing
        about the other one), and the attempt is logged without either id. A session of
        the owner's that is still open here is ended first (its page reconnected before
        the old socket was noticed dead, or another tab), so its last turn is recorded and
        its handle is the newest. One open on another instance ends when it notices the
        claim that follows (`handle_sync`).
        """
        if session_id is None or not is_session_id(session_id):
            return None
        found = await self.handles.lookup(session_id, owner)
        if found is Lookup.FOREIGN:
            self.metrics.errors.labels("resume_refused").inc()
            logger.warning(
                "resume refused: the session belongs to another user",
                extra={"uid": uid, "requested": log_ref(session_id)},
            )
            return None
        if not isinstance(found, Resumable):
            return None
        await self.running.take_over(session_id, self.take_over_timeout_s)
        found = await self.handles.lookup(session_id, owner)
        return found if isinstance(found, Resumable) else None


async def turns_so_far(store: Store, conversation_id: str) -> int:
    """How many turns a resumed conversation has stored (0 if it cannot be read)."""
    try:
        existing = await store.get_conversation(conversation_id)
    except Exception:
        logger.warning("could not read the resumed conversation")
        return 0
    return existing.metrics.turns if existing else 0


async def avatar_urls(media: MediaStore, active: ActivePersona) -> dict[str, list[str]]:
    """Signed URLs of the persona's avatar clips; none if media is unavailable."""
    try:
        names = active.avatar_media or await list_avatar_media(media)
        return await sign_avatar_media(media, names)
    except Exception:
        # The drawn avatar needs no media: a media hiccup must not stop a conversation.
        logger.warning("avatar media unavailable; the page draws its avatar")
        return {}
