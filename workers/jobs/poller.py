"""ActivateJobs for exactly the free slots, again as soon as a slot frees.

* streaming on: the stream carries new jobs; the poller drains what the stream does not carry (a
  backlog from before we started, jobs whose retry back-off ran out, jobs a stream could not push):
  no long poll (``requestTimeout=-1``, the gateway answers at once) and a short pause when idle;
* streaming off: long polling (the gateway holds the request until jobs exist or the timeout passes).
Slots are taken *before* the request and the unused ones given back after it, so a job that arrives
always has its slot.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from pyzeebe.proto.gateway_pb2 import ActivateJobsRequest

from workers.jobs.job import Job
from workers.jobs.loop import Loop
from workers.jobs.slots import Slots


class Poller(Loop):
    kind = "poll"

    def __init__(self, *args: Any, slots: Slots, start: Callable[[Job, bool], None], long_poll_ms: int | None,
                 idle_s: float, **kwargs: Any) -> None:  # fmt: skip
        """``long_poll_ms`` None = no long polling (streaming on); ``start(job, has_slot)`` runs a job."""
        super().__init__(*args, **kwargs)
        self.slots = slots
        self.start = start
        self.long_poll_ms = long_poll_ms
        self.idle_s = idle_s
        self.polls = 0
        self.received = 0

    async def run(self) -> None:
        while True:
            self.tick()
            self.waiting_for_slots = True  # handlers are bounded by their deadlines: not a stall
            try:
                await self.slots.wait_free()
            finally:
                self.waiting_for_slots = False
            self.tick()
            received = await self.poll_once()
            if received is None:
                continue  # failed call: on_error already backed off
            if received == 0 and self.long_poll_ms is None:
                await self._sleep(self.idle_s)

    async def poll_once(self) -> int | None:
        """One ActivateJobs for every free slot; the number of jobs received, None after a failed call."""
        wanted = self.slots.try_take()
        if not wanted:
            return 0
        request = ActivateJobsRequest(
            type=self.config.type, worker=self.config.worker, timeout=self.config.timeout_ms,
            maxJobsToActivate=wanted, fetchVariable=list(self.config.fetch_variables),
            requestTimeout=-1 if self.long_poll_ms is None else self.long_poll_ms,
        )  # fmt: skip
        call_timeout = 10.0 if self.long_poll_ms is None else self.long_poll_ms / 1000 + 10.0
        received = 0
        error: grpc.aio.AioRpcError | None = None
        try:
            self.polls += 1
            async for response in self.gateway.stub.ActivateJobs(request, timeout=call_timeout):
                for raw in response.jobs:
                    received += 1
                    self.received += 1
                    # More than asked for cannot happen; such a job would queue for a slot.
                    self.start(Job.from_proto(raw), received <= wanted)
                self.tick()
        except grpc.aio.AioRpcError as exc:
            error = exc
        finally:
            self.slots.release(max(0, wanted - received))
        if error is not None:
            await self.on_error(error)
            return None
        self.gateway.ok()
        self.backoff.reset()
        return received
