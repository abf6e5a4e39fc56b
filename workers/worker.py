"""Run every registered task as one pyzeebe worker, and stop it gracefully.

Choices made against pyzeebe's defaults (read in its source, 4.7):
* job streaming on (jobs pushed as soon as they exist), polling stays as the fallback;
* ``max_connection_retries=-1``: the default (10) makes the worker give up for good after an engine
  restart of a minute or so; a worker should outlive its engine's restarts;
* our own exception handler per task (``tasks.runtime``): pyzeebe's default logs the job with its
  variables and fails it without a back-off;
* on SIGTERM/SIGINT, ``stop()`` lets in-flight jobs finish (their results are sent), bounded by a
  grace period; a job cut off by the bound is retried by Zeebe after its timeout, which every task
  tolerates because every task is idempotent.
"""

from __future__ import annotations

import asyncio
import signal
from dataclasses import replace
from typing import Any

import structlog
from pyzeebe import ZeebeWorker

from workers.config import WorkerSettings
from workers.tasks.runtime import TaskSpec, register

log = structlog.get_logger(__name__)


def build_worker(channel: Any, deps: Any, settings: WorkerSettings, specs: list[TaskSpec] | None = None) -> ZeebeWorker:
    worker = ZeebeWorker(
        channel,
        name=settings.name,
        max_connection_retries=settings.max_connection_retries,
        stream_enabled=settings.stream_enabled,
    )
    if specs is None:
        from workers.tasks import registry

        specs = registry.all_specs()
    for spec in specs:
        spec = replace(
            spec,
            timeout_ms=settings.job_timeout_ms.get(spec.type, spec.timeout_ms),
            backoff_base_ms=int(spec.backoff_base_ms * settings.retry_backoff_scale),
            backoff_max_ms=int(spec.backoff_max_ms * settings.retry_backoff_scale),
        )
        register(worker, spec, deps, lambda: worker.zeebe_adapter)
    return worker


async def run_until_signalled(worker: ZeebeWorker, grace_s: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    task = asyncio.create_task(worker.work())
    log.info("worker_started", tasks=[t.type for t in worker.tasks])
    waiter = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        waiter.cancel()
        task.result()  # re-raise why the worker ended
        return
    log.info("worker_stopping", grace_s=grace_s)
    try:
        await asyncio.wait_for(worker.stop(), timeout=grace_s)
    except asyncio.TimeoutError:
        log.warning("worker_stop_grace_exceeded")
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    log.info("worker_stopped")
