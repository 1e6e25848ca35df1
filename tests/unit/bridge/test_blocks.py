"""Blocked users: one round asks the running sessions of each blocked user to end, and a
failing or slow store costs only that round."""

from __future__ import annotations

import asyncio
import datetime as dt

from liveavatar.bridge.blocks import BlockWatch
from liveavatar.bridge.running import RunningSession, RunningSessions
from liveavatar.store import StoreUnavailable, User

AT = dt.datetime(2026, 3, 14, tzinfo=dt.UTC)


class Users:
    def __init__(self) -> None:
        self.blocked: set[str] = set()
        self.fail = False
        self.hang = False
        self.asked: list[str] = []

    async def get_user(self, id: str) -> User | None:
        self.asked.append(id)
        if self.fail:
            raise StoreUnavailable("down")
        if self.hang:
            await asyncio.Event().wait()
        if id == "ghost":
            return None
        return User(id=id, email="", blocked=id in self.blocked, created_at=AT)


def sessions() -> tuple[RunningSessions, dict[str, RunningSession]]:
    running = RunningSessions()
    entries = {
        "a1": running.register("s-a1", "alice"),
        "a2": running.register("s-a2", "alice"),
        "b": running.register("s-b", "bob"),
        "g": running.register("s-g", "ghost"),
    }
    return running, entries


async def test_only_the_blocked_users_sessions_are_asked_to_end() -> None:
    running, entries = sessions()
    users = Users()
    watch = BlockWatch(users, running, interval_s=5)
    assert await watch.check() == 0
    users.blocked.add("alice")
    assert await watch.check() == 2
    blocked = {k for k, e in entries.items() if e.blocked.is_set()}
    assert blocked == {"a1", "a2"}
    assert await watch.check() == 0  # already asked: not counted twice
    assert sorted(set(users.asked)) == ["alice", "bob", "ghost"]  # one read per user


async def test_ended_sessions_are_no_longer_checked() -> None:
    running, entries = sessions()
    for sid, key in (("s-a1", "a1"), ("s-a2", "a2"), ("s-g", "g")):
        running.unregister(sid, entries[key])
    users = Users()
    await BlockWatch(users, running, interval_s=5).check()
    assert users.asked == ["bob"]


async def test_a_failing_or_slow_store_costs_one_round_only() -> None:
    running, entries = sessions()
    users = Users()
    users.blocked.add("bob")
    watch = BlockWatch(users, running, interval_s=5, read_timeout_s=0.05)
    users.fail = True
    assert await watch.check() == 0
    users.fail, users.hang = False, True
    assert await watch.check() == 0
    users.hang = False
    assert await watch.check() == 1
    assert entries["b"].blocked.is_set()


async def test_run_checks_at_its_interval_until_cancelled() -> None:
    running, entries = sessions()
    users = Users()
    users.blocked.add("bob")
    task = asyncio.create_task(BlockWatch(users, running, interval_s=0.01).run())
    try:
        async with asyncio.timeout(5):
            await entries["b"].blocked.wait()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()
