"""Mailbox: asyncio.Queue's FIFO, bounds, wake-ups and cancellation, on the lighter path."""

from __future__ import annotations

import asyncio

import pytest

from liveavatar.mailbox import Mailbox


async def test_items_come_out_in_order() -> None:
    box: Mailbox[int] = Mailbox()
    for i in range(5):
        box.put_nowait(i)
    assert box.qsize() == 5
    assert [await box.get() for _ in range(5)] == [0, 1, 2, 3, 4]
    assert box.empty()


async def test_a_waiting_getter_is_woken_by_a_put() -> None:
    box: Mailbox[str] = Mailbox()
    getter = asyncio.create_task(box.get())
    await asyncio.sleep(0)
    assert not getter.done()
    box.put_nowait("a")
    assert await asyncio.wait_for(getter, 1) == "a"


async def test_getters_are_served_in_the_order_they_came() -> None:
    box: Mailbox[int] = Mailbox()
    first = asyncio.create_task(box.get())
    await asyncio.sleep(0)
    second = asyncio.create_task(box.get())
    await asyncio.sleep(0)
    box.put_nowait(1)
    box.put_nowait(2)
    assert list(await asyncio.gather(first, second)) == [1, 2]


async def test_a_full_box_refuses_put_nowait_and_holds_put_until_a_get() -> None:
    box: Mailbox[int] = Mailbox(2)
    box.put_nowait(1)
    await box.put(2)
    assert box.full()
    with pytest.raises(asyncio.QueueFull):
        box.put_nowait(3)
    putter = asyncio.create_task(box.put(3))
    await asyncio.sleep(0)
    assert not putter.done()
    assert box.get_nowait() == 1
    await asyncio.wait_for(putter, 1)
    assert [box.get_nowait(), box.get_nowait()] == [2, 3]
    with pytest.raises(asyncio.QueueEmpty):
        box.get_nowait()


async def test_a_cancelled_getter_loses_nothing_and_passes_its_wake_up_on() -> None:
    box: Mailbox[int] = Mailbox()
    cancelled = asyncio.create_task(box.get())
    await asyncio.sleep(0)
    other = asyncio.create_task(box.get())
    await asyncio.sleep(0)
    box.put_nowait(7)  # wakes `cancelled` first...
    cancelled.cancel()  # ...which is cancelled before it runs
    assert await asyncio.wait_for(other, 1) == 7
    with pytest.raises(asyncio.CancelledError):
        await cancelled


async def test_a_cancelled_putter_passes_its_wake_up_on() -> None:
    box: Mailbox[int] = Mailbox(1)
    box.put_nowait(0)
    cancelled = asyncio.create_task(box.put(1))
    await asyncio.sleep(0)
    other = asyncio.create_task(box.put(2))
    await asyncio.sleep(0)
    assert box.get_nowait() == 0  # wakes `cancelled` first...
    cancelled.cancel()  # ...which is cancelled before it runs
    await asyncio.wait_for(other, 1)
    assert box.get_nowait() == 2
    assert box.empty()


async def test_join_is_not_supported() -> None:
    box: Mailbox[int] = Mailbox()
    with pytest.raises(NotImplementedError):
        await box.join()
    with pytest.raises(NotImplementedError):
        box.task_done()
