"""The session's sign-in over time: fresh tokens over the socket, same user only, and the
end of a session whose token lapsed with none (TokenWatch, with a stand-in verifier and
clock: what matters is the order of events, not how long anything takes)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from liveavatar.auth import Identity, VerifierUnavailable
from liveavatar.bridge.outbox import Outbox
from liveavatar.bridge.token_watch import EXPIRED, OTHER_USER, TokenWatch
from liveavatar.errors import CLOSE_UNAUTHORIZED, Unauthorized

NOW = 1_000_000.0


class Verifier:
    """Tokens it knows map to identities (or to an error to raise)."""

    def __init__(self, answers: dict[str, Identity | Exception]) -> None:
        self.answers = answers
        self.seen: list[str] = []

    async def verify(self, token: str | None, *, client_ip: str | None = None) -> Identity:
        assert token is not None
        self.seen.append(token)
        answer = self.answers[token]
        if isinstance(answer, Exception):
            raise answer
        return answer


def user(uid: str = "ada", expires_at: float | None = NOW + 3600) -> Identity:
    return Identity(uid=uid, email=None, anonymous=False, expires_at=expires_at)


def watch(
    verifier: Verifier, identity: Identity, *, at: float, outbox: Outbox | None = None
) -> TokenWatch:
    return TokenWatch(verifier, identity, 30.0, outbox or Outbox(), clock=lambda: at)


async def settle(condition: Callable[[], bool], what: str) -> None:
    """Let the watch run until `condition` holds (the stand-in verifier never waits, so a
    few turns of the loop are enough)."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError(f"never reached: {what}")


async def test_a_lapsed_sign_in_with_no_fresh_token_ends_the_session_with_4401() -> None:
    w = watch(Verifier({}), user(expires_at=NOW), at=NOW + 31)  # past the 30 s grace
    with pytest.raises(Unauthorized, match="expired") as info:
        await w.run()
    assert str(info.value) == EXPIRED and info.value.fault.close_code == CLOSE_UNAUTHORIZED


async def test_a_fresh_token_of_the_same_user_moves_the_expiry_on() -> None:
    fresh = user(expires_at=NOW + 7200)
    verifier = Verifier({"fresh": fresh})
    w = watch(verifier, user(expires_at=NOW + 60), at=NOW)
    task = asyncio.create_task(w.run(), name="token-watch")
    w.offer("fresh")
    await settle(lambda: w.expires_at == NOW + 7200, "the new expiry")
    assert verifier.seen == ["fresh"] and not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_fresh_token_of_another_user_ends_the_session() -> None:
    w = watch(Verifier({"bob": user("bob")}), user("ada"), at=NOW)
    w.offer("bob")
    with pytest.raises(Unauthorized, match="another user") as info:
        await w.run()
    assert str(info.value) == OTHER_USER


async def test_a_bad_fresh_token_ends_the_session() -> None:
    w = watch(Verifier({"forged": Unauthorized("bad signature")}), user(), at=NOW)
    w.offer("forged")
    with pytest.raises(Unauthorized, match="bad signature"):
        await w.run()


async def test_our_verifier_failing_is_said_and_the_current_token_still_holds() -> None:
    outbox = Outbox()
    verifier = Verifier({"t": VerifierUnavailable("could not check the sign-in right now")})
    w = watch(verifier, user(expires_at=NOW + 60), at=NOW, outbox=outbox)
    task = asyncio.create_task(w.run(), name="token-watch")
    w.offer("t")
    await settle(lambda: verifier.seen == ["t"], "the check")
    await asyncio.sleep(0)
    assert not task.done() and w.expires_at == NOW + 60
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_past_the_deadline_a_token_that_cannot_be_checked_ends_the_session() -> None:
    # A page that keeps sending tokens while our verifier cannot check any: a token is
    # always waiting when the last check ends, so the deadline's wait never runs out. The
    # first check past the deadline must end the session.
    clock = [NOW]
    w: TokenWatch

    class Resending(Verifier):
        async def verify(self, token: str | None, *, client_ip: str | None = None) -> Identity:
            if clock[0] > NOW and len(self.seen) < 6:
                w.offer("t")  # the page's next one, already on its way
            return await super().verify(token, client_ip=client_ip)

    verifier = Resending({"t": VerifierUnavailable("could not check the sign-in right now")})
    w = TokenWatch(verifier, user(expires_at=NOW + 60), 30.0, Outbox(), clock=lambda: clock[0])
    task = asyncio.create_task(w.run(), name="token-watch")
    w.offer("t")
    await settle(lambda: verifier.seen == ["t"], "the check in time")
    assert not task.done()
    clock[0] = NOW + 91  # past the expiry and its grace
    w.offer("t")
    with pytest.raises(Unauthorized, match="expired"):
        await asyncio.wait_for(task, 5)
    assert verifier.seen == ["t", "t"]


async def test_only_the_newest_waiting_token_is_checked() -> None:
    verifier = Verifier({"old": user(expires_at=NOW + 100), "new": user(expires_at=NOW + 200)})
    w = watch(verifier, user(expires_at=NOW + 60), at=NOW)
    w.offer("old")
    w.offer("new")  # before the watch ran: replaces the waiting one
    task = asyncio.create_task(w.run(), name="token-watch")
    await settle(lambda: w.expires_at == NOW + 200, "the newest expiry")
    assert verifier.seen == ["new"]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_with_sign_in_off_nothing_expires_and_tokens_are_ignored() -> None:
    verifier = Verifier({})
    w = watch(verifier, user(expires_at=None), at=NOW + 10**9)
    task = asyncio.create_task(w.run(), name="token-watch")
    w.offer("anything")
    await asyncio.sleep(0.05)
    assert not task.done() and verifier.seen == []
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
