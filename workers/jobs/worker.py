"""The job worker: per task type one cap (``Slots``), a poller, a streamer (optional) and an executor.

Lifecycle:
* ``work()`` runs the loops until ``stop()``; a loop that dies unexpectedly stops the worker (in-flight
  jobs handed back) and makes ``work()`` raise, so the process exits non-zero instead of hanging;
* ``stop(grace_s)``: activation stops (pollers and streams closed), queued streamed jobs are handed back
  at once, in-flight handlers get ``grace_s`` to finish, then the leftovers are cancelled and handed back
  with their retries unchanged and a short back-off (no incident, no lost retry).
Liveness (``alive``): every loop task running and ticking within its bound; readiness (``ready``): a
gateway call succeeded recently.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from workers.jobs.executor import Executor
from workers.jobs.gateway import Gateway
from workers.jobs.job import Job
from workers.jobs.lease import Lease
from workers.jobs.poller import Poller
from workers.jobs.slots import Slots, SlotsClosed
from workers.jobs.streamer import Streamer
from workers.logs import job_context
from workers.tasks import metrics, runtime

log = structlog.get_logger(__name__)


@dataclass
class TaskRuntime:
    """Everything that runs one task type."""

    type: str
    slots: Slots
    executor: Executor
    poller: Poller
    streamer: Streamer | None
    jobs: set[asyncio.Task[Any]] = field(default_factory=set)

    def start(self, job: Job, has_slot: bool) -> None:
        task = asyncio.create_task(self._handle(job, has_slot), name=f"job-{self.type}-{job.key}")
        self.jobs.add(task)
        task.add_done_callback(self.jobs.discard)

    async def _handle(self, job: Job, has_slot: bool) -> None:
        if not has_slot:
            try:
                await self.slots.take()
            except SlotsClosed:
                await self._hand_back(job)
                return
            if not self.executor.can_start(job):  # its deadline (nearly) passed while it queued
                self.slots.release()
                with job_context(**job.log_context()):
                    log.info("job_dropped_expired", seconds_left=round(job.seconds_left(), 3))
                metrics.JOBS.labels(self.type, "dropped").inc()
                return
        try:
            await self.executor.execute(job)
        except Exception as exc:  # a bug in the runtime itself: keep the worker, log the type and frames
            with job_context(**job.log_context()):
                log.error("job_runtime_error", error_type=type(exc).__name__, exc_info=exc)
        finally:
            self.slots.release()

    async def _hand_back(self, job: Job) -> None:
        with job_context(**job.log_context()):
            command = runtime.hand_back(job, self.executor.settings.handback_backoff_ms)
            await self.executor.send(job, command, Lease(job, 0.0), time.monotonic())

    def loops(self) -> list[Any]:
        return [self.poller] + ([self.streamer] if self.streamer else [])


class JobWorker:
    def __init__(self, gateway: Gateway, tasks: list[TaskRuntime], name: str, grace_s: float = 20.0,
                 ready_window_s: float = 60.0, on_start: Callable[["JobWorker"], Any] | None = None,
                 on_stop: Callable[["JobWorker"], Any] | None = None) -> None:  # fmt: skip
        self.gateway = gateway
        self.tasks = tasks
        self.name = name
        self.grace_s = grace_s
        self.ready_window_s = ready_window_s
        self._on_start = on_start
        self._on_stop = on_stop
        self._loops: dict[asyncio.Task[Any], Any] = {}
        self._stop_requested = asyncio.Event()
        self._stopped = asyncio.Event()
        self._stopping: asyncio.Task[None] | None = None

    @property
    def task_types(self) -> list[str]:
        return [t.type for t in self.tasks]

    def by_type(self, task_type: str) -> TaskRuntime:
        return next(t for t in self.tasks if t.type == task_type)

    # -- lifecycle ------------------------------------------------------------------------------------

    async def work(self) -> None:
        if self._on_start is not None:
            await self._on_start(self)
        for task in self.tasks:
            for loop in task.loops():
                self._loops[asyncio.create_task(loop.run(), name=f"{loop.kind}-{task.type}")] = loop
        stop_wait = asyncio.create_task(self._stop_requested.wait())
        try:
            done, _ = await asyncio.wait([*self._loops, stop_wait], return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            await self.stop(grace_s=0)
            raise
        finally:
            stop_wait.cancel()
        died = [t for t in done if t in self._loops]
        if died and not self._stop_requested.is_set():
            loop_task = died[0]
            error = loop_task.exception() if not loop_task.cancelled() else None
            log.error("worker_loop_died", loop=loop_task.get_name(), error_type=type(error).__name__,
                      exc_info=error)  # fmt: skip
            await self.stop(grace_s=0)
            raise RuntimeError(f"job loop {loop_task.get_name()} ended unexpectedly; the worker stopped") from error
        await self._stopped.wait()

    async def stop(self, grace_s: float | None = None) -> None:
        if self._stopping is None:
            self._stopping = asyncio.create_task(self._shutdown(self.grace_s if grace_s is None else grace_s))
        await asyncio.shield(self._stopping)

    async def _shutdown(self, grace_s: float) -> None:
        self._stop_requested.set()
        for loop_task in self._loops:
            loop_task.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        for task in self.tasks:
            task.slots.abort_waiters()
        in_flight = {j for t in self.tasks for j in t.jobs}
        log.info("worker_draining", in_flight=len(in_flight), grace_s=grace_s)
        if in_flight and grace_s > 0:
            await asyncio.wait(in_flight, timeout=grace_s)
        leftovers = {j for t in self.tasks for j in t.jobs if not j.done()}
        if leftovers:
            log.warning("worker_grace_exceeded", handed_back=len(leftovers))
            for task in self.tasks:
                task.executor.abort()
            await asyncio.wait(leftovers, timeout=30)
        if self._on_stop is not None:
            await self._on_stop(self)
        self._stopped.set()
        log.info("worker_stopped")

    # -- health ---------------------------------------------------------------------------------------

    def alive(self) -> tuple[bool, str]:
        if self._stop_requested.is_set():
            return True, "stopping"
        now = time.monotonic()
        for loop_task, loop in self._loops.items():
            if loop_task.done():
                return False, f"{loop_task.get_name()} ended"
            if loop.stalled(now):
                return False, f"{loop_task.get_name()} made no progress for {now - loop.last_tick:.0f}s"
        return True, "ok"

    def ready(self) -> tuple[bool, str]:
        if self._stop_requested.is_set():
            return False, "stopping"
        if self.gateway.ready(self.ready_window_s):
            return True, "ok"
        return False, f"no answer from the gateway within {self.ready_window_s:g}s"
