"""One cap per task type, shared by the poller and the stream.

``capacity`` slots; a slot is held from the moment a job is ours until its command was answered.
* The poller takes every free slot *before* it asks (``try_take``), asks for exactly that many jobs,
  and gives back what did not arrive; when none is free it waits (``wait_free``) — no fixed sleep.
* A streamed job that arrives when the cap is full queues (``take``); a freed slot is handed to the
  oldest queued job first, so the poller never overtakes a job whose deadline is already running.
* ``abort_waiters`` (shutdown) makes every queued ``take`` raise ``SlotsClosed``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable


class SlotsClosed(Exception):
    """The worker is stopping: a queued job will not get a slot."""


class Slots:
    def __init__(self, capacity: int, on_change: Callable[["Slots"], None] | None = None) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.held = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._freed = asyncio.Event()
        self._on_change = on_change
        self._closed = False

    @property
    def queued(self) -> int:
        return sum(1 for w in self._waiters if not w.done())

    @property
    def free(self) -> int:
        """Slots nobody holds or waits for."""
        return 0 if self.queued else self.capacity - self.held

    def try_take(self, n: int | None = None) -> int:
        """Take up to ``n`` (default: all) free slots at once; returns how many were taken."""
        count = self.free if n is None else min(n, self.free)
        self.held += count
        if count:
            self._changed()
        return count

    async def take(self) -> None:
        """Wait for one slot (FIFO behind other waiters)."""
        if self._closed:
            raise SlotsClosed()
        if self.free:
            self.held += 1
            self._changed()
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self._changed()
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self.release()  # the slot was handed to us just as we were cancelled
            raise
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
            self._changed()

    def release(self, n: int = 1) -> None:
        for _ in range(n):
            while self._waiters:
                waiter = self._waiters.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # hand-off: ``held`` stays the same
                    break
            else:
                self.held -= 1
                if self.held < 0:
                    raise RuntimeError("released more slots than were taken")
                self._freed.set()
        self._changed()

    async def wait_free(self) -> None:
        while not self.free:
            self._freed.clear()
            await self._freed.wait()

    def abort_waiters(self) -> None:
        self._closed = True
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(SlotsClosed())
        self._changed()

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change(self)
