"""Whether a session shows Gemini's own live avatar (persona `avatar_mode: native`), and
what it goes on with when it cannot: the drawn avatar, in audio, keeping the conversation.

The native avatar is never asked of the Gemini Developer API (it renders none, §14.1),
nor for a version 1 page (it cannot tell media frames from audio). A reference image is
read from the media store and checked (`live/avatar.py`) before it is sent. When Live
refuses the avatar, at setup or after (`live/link.py`), the next connections are audio
ones whose instruction carries the conversation so far: avatar sessions get no
resumption handles (§13.1), so this is how the model keeps it (a native connection
reopened after a drop carries it too).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from liveavatar import protocol as p
from liveavatar.live.avatar import (
    MAX_IMAGE_BYTES,
    NativeAvatar,
    ReferenceImageError,
    check_reference_image,
)
from liveavatar.live.connection import LiveChannel
from liveavatar.live.link import LiveLink, Opener
from liveavatar.live.persona import Persona
from liveavatar.media import MediaStore
from liveavatar.personas import ActivePersona
from liveavatar.store.persona_config import AvatarMode

logger = logging.getLogger(__name__)

IMAGE_READ_TIMEOUT_S = 5.0
HISTORY_TURNS = 20  # the latest turns carried into an audio connection after a fallback
HISTORY_CHARS = 6_000

NOTICES: dict[str, str] = {
    "unsupported_api": "The video avatar is not available on this service; showing the drawn one.",
    "image_invalid": "The avatar's reference image cannot be used; showing the drawn avatar.",
    "refused": "The video avatar is not available right now; showing the drawn one.",
}


def fallback_notice(reason: str) -> p.AvatarFallbackNotice:
    known = reason if reason in NOTICES else "refused"
    return p.AvatarFallbackNotice.model_validate({"reason": known, "message": NOTICES[known]})


@dataclass(frozen=True)
class AvatarPlan:
    """What a session asks Live for: `avatar` (None: audio), and, when the persona wanted
    the native avatar and will not get it, why (`NOTICES`)."""

    avatar: NativeAvatar | None
    fallback: str | None = None

    def ready_mode(self, active: ActivePersona, link: LiveLink) -> AvatarMode:
        """`ready.avatar_mode`: native only while the video will come."""
        if self.avatar is not None and link.native:
            return "native"
        return "drawn" if active.avatar_mode == "native" else active.avatar_mode

    def link(
        self,
        opener_for: Callable[[Persona], Opener],
        persona: Persona,
        so_far: ConversationSoFar,
        *,
        name: str,
    ) -> LiveLink:
        """The session's Live link: with the native avatar, whose connections carry the
        conversation so far, falling back to audio connections that do too."""
        if self.avatar is None:
            return LiveLink(opener_for(persona), name=name)
        avatar = self.avatar

        async def open_native(handle: str | None) -> LiveChannel:
            # Built at each open: a reconnect gets no handle to continue from (§13.1).
            return await opener_for(so_far.persona(persona, avatar))(handle)

        return LiveLink(
            open_native, name=name, fallback=lambda: opener_for(so_far.persona(persona))
        )


async def plan_avatar(
    active: ActivePersona, media: MediaStore, *, native_api: bool, page_version: int
) -> AvatarPlan:
    """The native avatar this session asks for, if any (`native_api`: the configured
    endpoint may render it; `page_version`: the page's protocol version)."""
    if active.avatar_mode != "native" or page_version < 2:
        return AvatarPlan(None)
    if not native_api:
        return AvatarPlan(None, "unsupported_api")
    if active.native_avatar_image:
        try:
            async with asyncio.timeout(IMAGE_READ_TIMEOUT_S):
                data = await media.get(active.native_avatar_image, max_bytes=MAX_IMAGE_BYTES)
            mime = check_reference_image(data)
        except ReferenceImageError as exc:
            logger.warning("avatar reference image refused", extra={"reason": str(exc)})
            return AvatarPlan(None, "image_invalid")
        except Exception as exc:
            logger.warning(
                "avatar reference image unavailable", extra={"error": type(exc).__name__}
            )
            return AvatarPlan(None, "image_invalid")
        return AvatarPlan(NativeAvatar(image=data, image_mime=mime))
    if active.native_avatar:
        return AvatarPlan(NativeAvatar(name=active.native_avatar))
    return AvatarPlan(None, "image_invalid")


class ConversationSoFar:
    """The latest finished turns' text, bounded, for the instruction of the audio
    connection a fallback opens."""

    def __init__(self) -> None:
        self._turns: deque[tuple[str, str]] = deque(maxlen=HISTORY_TURNS)

    def add(self, user: str, model: str) -> None:
        if user.strip() or model.strip():
            self._turns.append((user.strip(), model.strip()))

    def persona(self, persona: Persona, avatar: NativeAvatar | None = None) -> Persona:
        """`persona` with `avatar` (None: audio), its instruction followed by the
        conversation so far."""
        lines: list[str] = []
        for user, model in self._turns:
            if user:
                lines.append(f"User: {user}")
            if model:
                lines.append(f"You: {model}")
        text = "\n".join(lines)[-HISTORY_CHARS:]
        instruction = persona.system_instruction
        if text:
            instruction += (
                "\n\nThe conversation so far (continue it where it left off, do not repeat "
                f"it):\n{text}"
            )
        return dataclasses.replace(persona, avatar=avatar, system_instruction=instruction)
