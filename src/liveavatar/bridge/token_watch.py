"""The session's sign-in over time. The ID token of `hello` runs out (Firebase's last an
hour, and a page may send one that is nearly spent); the page sends a fresh one over the
open socket (`token`) before then. Each is verified like `hello`'s and must name the same
user. A session whose token expired more than the grace period ago with no fresh one is
ended with `unauthorized` / 4401, so a revoked or signed-out user cannot talk on for as
long as the socket lives. With sign-in off nothing expires and `token` is ignored.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import NoReturn

from liveavatar import protocol as p
from liveavatar.auth import Identity, TokenVerifier, VerifierUnavailable
from liveavatar.errors import Unauthorized

from .outbox import Outbox

logger = logging.getLogger(__name__)

EXPIRED = "the sign-in expired and no fresh ID token was sent; sign in again"
OTHER_USER = "the fresh ID token is for another user"


class TokenWatch:
    """Verifies the page's fresh tokens and ends the session once sign-in has lapsed."""

    def __init__(
        self,
        verifier: TokenVerifier,
        identity: Identity,
        grace_s: float,
        outbox: Outbox,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._verifier = verifier
        self._uid = identity.uid
        self.expires_at = identity.expires_at
        self._grace_s = grace_s
        self._outbox = outbox
        self._clock = clock
        # The newest token only: one that arrives while another is checked replaces it.
        self._fresh: asyncio.Queue[str] = asyncio.Queue(maxsize=1)

    def offer(self, token: str) -> None:
        """A `token` message from the page (never waits)."""
        if self.expires_at is None:
            return  # sign-in off: nothing to renew
        if self._fresh.full():
            self._fresh.get_nowait()
        self._fresh.put_nowait(token)

    async def run(self) -> NoReturn:
        """Until the session ends: check each fresh token; raise `Unauthorized` (4401) when
        the current one is past its expiry plus the grace period, or a fresh one is bad."""
        while True:
            if self.expires_at is None:
                await asyncio.Event().wait()  # never expires; ends with the session
            assert self.expires_at is not None
            left = self.expires_at + self._grace_s - self._clock()
            try:
                async with asyncio.timeout(max(0.0, left)):
                    token = await self._fresh.get()
            except TimeoutError:
                raise Unauthorized(EXPIRED) from None
            await self._check(token)

    async def _check(self, token: str) -> None:
        try:
            identity = await self._verifier.verify(token)
        except VerifierUnavailable as exc:
            # Our side's trouble: the current token still holds until it lapses, and not
            # after (a page that keeps sending tokens while none can be checked would
            # otherwise talk on past its deadline).
            if self.expires_at is not None and self._clock() > self.expires_at + self._grace_s:
                raise Unauthorized(EXPIRED) from exc
            logger.warning("fresh ID token not checked", extra={"error": str(exc)})
            self._outbox.put_control(p.Error(code="internal", message=str(exc)))
            return
        if identity.uid != self._uid:
            raise Unauthorized(OTHER_USER)
        if identity.expires_at is not None and identity.expires_at > (self.expires_at or 0):
            self.expires_at = identity.expires_at
