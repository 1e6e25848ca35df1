"""The day's event counters: gathered without waiting, written per UTC day, retried when
refused, never written twice."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping

import pytest

from liveavatar import protocol as p
from liveavatar.bridge.day_counters import DayCounters
from liveavatar.bridge.outbox import Outbox
from liveavatar.store import StoreUnavailable


class Days:
    def __init__(self) -> None:
        self.writes: list[tuple[str, dict[str, int]]] = []
        self.refuse = False
        self.hang = False
        self.wrote = asyncio.Event()

    async def increment_daily(
        self, date: dt.date | str, *, counters: Mapping[str, int] | None = None
    ) -> None:
        if self.refuse:
            raise StoreUnavailable("down")
        if self.hang:
            await asyncio.Event().wait()
        self.writes.append((str(date), dict(counters or {})))
        self.wrote.set()

    def totals(self) -> dict[tuple[str, str], int]:
        out: dict[tuple[str, str], int] = {}
        for day, counters in self.writes:
            for name, n in counters.items():
                out[(day, name)] = out.get((day, name), 0) + n
        return out


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 3, 14, 23, 59, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


async def test_counts_are_written_by_day_in_one_increment_each() -> None:
    days, clock = Days(), Clock()
    counters = DayCounters(days, clock=clock)
    counters.count("live.reconnect")
    counters.count("error.bad_request")
    counters.count("error.bad_request")
    clock.now += dt.timedelta(minutes=2)  # past midnight UTC: the next day's
    counters.count("live.rotation")
    await counters.flush()
    assert days.writes == [
        ("2026-03-14", {"live.reconnect": 1, "error.bad_request": 2}),
        ("2026-03-15", {"live.rotation": 1}),
    ]
    await counters.flush()
    assert len(days.writes) == 2  # nothing new: nothing written


async def test_a_refused_write_is_retried_and_a_timed_out_one_is_not() -> None:
    days = Days()
    counters = DayCounters(days, write_timeout_s=0.05)
    counters.count("live.reconnect")
    days.refuse = True
    await counters.flush()
    days.refuse = False
    counters.count("live.reconnect")
    await counters.flush()
    assert days.totals() == {(days.writes[0][0], "live.reconnect"): 2}
    days.hang = True
    counters.count("live.rotation")
    await counters.flush()  # may have landed: never written again
    days.hang = False
    await counters.flush()
    assert len(days.writes) == 1


async def test_bad_names_are_refused_without_raising() -> None:
    days = Days()
    counters = DayCounters(days)
    counters.count("error.bad request!")
    counters.count("")
    await counters.flush()
    assert days.writes == []


async def test_the_task_writes_as_counts_come_and_close_writes_the_rest() -> None:
    days = Days()
    counters = DayCounters(days)
    counters.start()
    counters.count("live.rotation")
    async with asyncio.timeout(5):
        await days.wrote.wait()
    assert list(days.totals().values()) == [1]
    await counters.close()
    counters.count("error.internal")  # after the task: close's flush is the last chance
    await counters.flush()
    assert sorted(name for _, name in days.totals()) == ["error.internal", "live.rotation"]


@pytest.mark.parametrize("fatal", [False, True])
def test_the_outbox_reports_each_error_it_queues(fatal: bool) -> None:
    seen: list[str] = []
    outbox = Outbox(on_error=seen.append)
    outbox.put_control(p.Pong(t=1))
    outbox.put_control(p.Error(code="live_reconnecting", message="x", fatal=fatal))
    assert seen == ["live_reconnecting"]
