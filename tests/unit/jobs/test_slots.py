from __future__ import annotations

import asyncio

import pytest

from workers.jobs.slots import Slots, SlotsClosed
from tests.unit.jobs.fakes import until


async def test_try_take_takes_only_free_slots_and_release_gives_them_back() -> None:
    slots = Slots(4)
    assert slots.try_take() == 4
    assert slots.free == 0 and slots.try_take() == 0
    slots.release(3)
    assert slots.free == 3
    assert slots.try_take(2) == 2 and slots.free == 1


async def test_a_freed_slot_goes_to_the_oldest_queued_job_before_the_poller() -> None:
    slots = Slots(1)
    await slots.take()
    order: list[str] = []

    async def queued(name: str) -> None:
        await slots.take()
        order.append(name)

    first, second = asyncio.create_task(queued("a")), asyncio.create_task(queued("b"))
    await until(lambda: slots.queued == 2, "two queued")
    assert slots.free == 0  # queued jobs come first: the poller sees nothing free
    slots.release()
    await until(lambda: order == ["a"], "first queued job got the slot")
    assert slots.held == 1 and slots.try_take() == 0
    slots.release()
    await until(lambda: order == ["a", "b"], "second queued job got the slot")
    slots.release()
    assert slots.held == 0 and slots.free == 1
    await asyncio.gather(first, second)


async def test_wait_free_returns_when_a_slot_frees() -> None:
    slots = Slots(1)
    slots.try_take()
    waiter = asyncio.create_task(slots.wait_free())
    await asyncio.sleep(0)
    assert not waiter.done()
    slots.release()
    await asyncio.wait_for(waiter, 5)


async def test_cancelled_waiter_does_not_leak_a_slot() -> None:
    slots = Slots(1)
    slots.try_take()
    waiter = asyncio.create_task(slots.take())
    await until(lambda: slots.queued == 1, "queued")
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    slots.release()
    assert slots.held == 0 and slots.free == 1


async def test_abort_waiters_fails_queued_takes() -> None:
    slots = Slots(1)
    slots.try_take()
    waiter = asyncio.create_task(slots.take())
    await until(lambda: slots.queued == 1, "queued")
    slots.abort_waiters()
    with pytest.raises(SlotsClosed):
        await waiter
    with pytest.raises(SlotsClosed):
        await slots.take()


async def test_release_more_than_taken_is_a_bug() -> None:
    with pytest.raises(RuntimeError):
        Slots(2).release()
