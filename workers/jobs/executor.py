"""One job, from slot to acknowledged command.

* the handler runs in its own task, bounded by the lease (job deadline minus a margin); past it the
  handler is cancelled and the job failed while we still hold it (retries-1, back-off);
* opt-in heartbeat (``TaskSpec.heartbeat``): UpdateJobTimeout every timeout/3 extends the lease; when
  Zeebe answers NOT_FOUND the job is gone and the handler is cancelled (nothing is sent);
* outputs larger than the gateway's message limit become an incident that says so;
* ``abort()`` (shutdown after the grace period): the handler is cancelled and the job handed back with
  its retries unchanged and a short back-off;
* the outcome is logged and counted only after Zeebe acknowledged it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import structlog

from workers.jobs.commands import Ack, Commands
from workers.jobs.job import Job
from workers.jobs.lease import Lease, margin_for
from workers.logs import job_context
from workers.tasks import metrics, runtime
from workers.tasks.runtime import Command, Complete, Fail, TaskSpec, Throw

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ExecutorSettings:
    deadline_margin_ms: int = 2_000
    max_message_bytes: int = 4 * 1024 * 1024
    handback_backoff_ms: int = 1_000
    # Commands for a job whose lease ran out during shutdown still get this long (hand-back).
    handback_budget_s: float = 5.0


class Executor:
    def __init__(self, spec: TaskSpec[Any, Any], deps: Any, commands: Commands, settings: ExecutorSettings) -> None:
        self.spec = spec
        self.deps = deps
        self.commands = commands
        self.settings = settings
        self._aborted = asyncio.Event()

    def can_start(self, job: Job, min_budget_s: float = 1.0) -> bool:
        """Whether a job (e.g. one that queued for a slot) still leaves its handler a useful budget."""
        margin = margin_for(self.spec.timeout_ms, self.settings.deadline_margin_ms)
        return Lease(job, margin).handler_budget() >= min(min_budget_s, self.spec.timeout_ms / 2000)

    def abort(self) -> None:
        """Stop every running handler of this type and hand its job back (shutdown)."""
        self._aborted.set()

    async def execute(self, job: Job) -> Ack | None:
        with job_context(**job.log_context()):
            started = time.monotonic()
            log.info("job_started", retries=job.retries)
            lease = Lease(job, margin_for(self.spec.timeout_ms, self.settings.deadline_margin_ms))
            metrics.JOBS_IN_FLIGHT.labels(self.spec.type).inc()
            try:
                command = await self._run(job, lease)
            finally:
                metrics.JOBS_IN_FLIGHT.labels(self.spec.type).dec()
            if command is None:
                return None
            return await self.send(job, command, lease, started)

    async def send(self, job: Job, command: Command, lease: Lease, started: float) -> Ack:
        request = runtime.to_request(job.key, command)
        if isinstance(command, Complete) and request.ByteSize() > self.settings.max_message_bytes:
            command = runtime.too_large(self.spec, request.ByteSize(), self.settings.max_message_bytes)
            request = runtime.to_request(job.key, command)
        remaining = lease.remaining
        if isinstance(command, Fail) and command.outcome == "handed_back":
            until = time.monotonic() + self.settings.handback_budget_s
            remaining = lambda: max(lease.remaining(), until - time.monotonic())  # noqa: E731
        if isinstance(command, Complete):
            ack = await self.commands.complete(request, remaining)
        elif isinstance(command, Throw):
            ack = await self.commands.throw(request, remaining)
        else:
            ack = await self.commands.fail(request, remaining)
        if ack in (Ack.ACKED, Ack.SUPERSEDED):
            runtime.report(self.spec, command, ack is Ack.ACKED, time.monotonic() - started)
        return ack

    async def _run(self, job: Job, lease: Lease) -> Command | None:
        handler = asyncio.create_task(runtime.run_handler(self.spec, job, self.deps))
        gone = asyncio.Event()
        beat = asyncio.create_task(self._heartbeat(job, lease, gone)) if self.spec.heartbeat else None
        gone_wait = asyncio.create_task(gone.wait())
        abort_wait = asyncio.create_task(self._aborted.wait())
        try:
            while not handler.done():
                budget = lease.handler_budget()
                if budget <= 0:
                    await _cancel(handler)
                    log.warning("job_deadline_reached", timeout_ms=self.spec.timeout_ms, extensions=lease.extensions)
                    return runtime.on_deadline(self.spec, job, self.spec.timeout_ms)
                await asyncio.wait({handler, gone_wait, abort_wait}, timeout=budget,
                                   return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
                if handler.done():
                    break
                if gone.is_set():
                    await _cancel(handler)
                    log.info("job_gone", reason="NOT_FOUND on heartbeat; handler cancelled")
                    runtime.report(self.spec, Fail(0, "", 0, "superseded"), False, 0.0)
                    return None
                if self._aborted.is_set():
                    await _cancel(handler)
                    return runtime.hand_back(job, self.settings.handback_backoff_ms)
        except asyncio.CancelledError:
            await _cancel(handler)
            raise
        finally:
            for task in (beat, gone_wait, abort_wait):
                if task is not None:
                    await _cancel(task)
        try:
            return handler.result()
        except Exception as exc:
            return runtime.on_exception(self.spec, job, exc)

    async def _heartbeat(self, job: Job, lease: Lease, gone: asyncio.Event) -> None:
        interval = max(self.spec.timeout_ms / 3, 50) / 1000
        while True:
            await asyncio.sleep(interval)
            ack = await self.commands.update_timeout(job.key, self.spec.timeout_ms, lease.remaining)
            if ack is Ack.ACKED:
                lease.extend(self.spec.timeout_ms)
                log.debug("job_lease_extended", timeout_ms=self.spec.timeout_ms)
            elif ack is Ack.SUPERSEDED:
                gone.set()
                return


async def _cancel(task: asyncio.Task[Any]) -> None:
    if not task.done():
        task.cancel()
    await asyncio.gather(task, return_exceptions=True)  # our own cancellation still propagates
