"""Build the job worker for every registered task (``workers.jobs``), and run it until a signal.

``build_worker(channel, deps, settings, specs=None)`` returns a ``JobWorker`` (``work()``, ``stop()``,
``task_types``); ``run_until_signalled(worker, grace_s)`` runs it until SIGTERM/SIGINT, then stops it
gracefully (activation stops, in-flight handlers get ``grace_s``, leftovers are handed back with their
retries unchanged). A worker whose loop died makes ``work()`` raise, so the process exits non-zero.
"""

from __future__ import annotations

import asyncio
import random
import signal
from dataclasses import replace
from typing import Any

import structlog
from pyzeebe.proto.gateway_pb2_grpc import GatewayStub

from workers.config import WorkerSettings
from workers.jobs.backoff import Backoff
from workers.jobs.commands import Commands
from workers.jobs.executor import Executor, ExecutorSettings
from workers.jobs.gateway import Gateway
from workers.jobs.health import HealthServer
from workers.jobs.loop import TypeConfig
from workers.jobs.poller import Poller
from workers.jobs.slots import Slots
from workers.jobs.streamer import Streamer
from workers.jobs.worker import JobWorker, TaskRuntime
from workers.tasks import metrics
from workers.tasks.runtime import TaskSpec

log = structlog.get_logger(__name__)


def configured_spec(spec: TaskSpec[Any, Any], settings: WorkerSettings) -> TaskSpec[Any, Any]:
    """The spec with the operator's overrides (timeout, cap, back-off scale)."""
    return replace(
        spec,
        timeout_ms=settings.job_timeout_ms.get(spec.type, spec.timeout_ms),
        max_running_jobs=settings.max_running_jobs.get(spec.type, spec.max_running_jobs),
        backoff_base_ms=int(spec.backoff_base_ms * settings.retry_backoff_scale),
        backoff_max_ms=int(spec.backoff_max_ms * settings.retry_backoff_scale),
    )


def build_worker(channel: Any, deps: Any, settings: WorkerSettings, specs: list[TaskSpec[Any, Any]] | None = None,
                 stub: Any = None) -> JobWorker:  # fmt: skip
    """``stub`` replaces the gateway stub built on ``channel`` (tests pass a fake)."""
    if specs is None:
        from workers.tasks import registry

        specs = registry.all_specs()
    from workers.zeebe import token_refresher

    gateway = Gateway(stub if stub is not None else GatewayStub(channel), token_refresher(channel))
    rng = random.Random()

    def new_backoff() -> Backoff:
        return Backoff(settings.backoff_initial_ms / 1000, settings.backoff_max_ms / 1000, rng=rng)

    commands = Commands(gateway, new_backoff)
    executor_settings = ExecutorSettings(deadline_margin_ms=settings.deadline_margin_ms,
                                         max_message_bytes=settings.max_message_bytes,
                                         handback_backoff_ms=settings.handback_backoff_ms)  # fmt: skip
    tasks = []
    for spec in specs:
        spec = configured_spec(spec, settings)
        tasks.append(_task_runtime(spec, deps, gateway, commands, executor_settings, settings, new_backoff))
    health: list[HealthServer] = []

    async def on_start(worker: JobWorker) -> None:
        if settings.metrics_port is not None:
            server = HealthServer(worker, settings.metrics_host, settings.metrics_port)
            await server.start()
            health.append(server)
            log.info("worker_health_serving", port=server.port)
        log.info("worker_started", tasks=worker.task_types, stream=settings.stream_enabled)

    async def on_stop(worker: JobWorker) -> None:
        for server in health:
            await server.stop()

    worker = JobWorker(gateway, tasks, settings.name, grace_s=settings.shutdown_grace_s,
                       ready_window_s=settings.ready_window_s, on_start=on_start, on_stop=on_stop)  # fmt: skip
    worker.health = health  # type: ignore[attr-defined]
    return worker


def _task_runtime(spec: TaskSpec[Any, Any], deps: Any, gateway: Gateway, commands: Commands,
                  executor_settings: ExecutorSettings, settings: WorkerSettings, new_backoff: Any) -> TaskRuntime:  # fmt: skip
    queued = metrics.JOBS_QUEUED.labels(spec.type)
    slots = Slots(spec.max_running_jobs, on_change=lambda s: queued.set(s.queued))
    config = TypeConfig(spec.type, settings.name, spec.timeout_ms, tuple(spec.fetch_variables()))
    holder: list[TaskRuntime] = []

    def start(job: Any, has_slot: bool) -> None:
        holder[0].start(job, has_slot)

    long_poll = None if settings.stream_enabled else settings.long_poll_ms
    poll_bound = settings.backoff_max_ms / 1000 + settings.poll_interval_s + (long_poll or 0) / 1000 + 60
    poller = Poller(config, gateway, new_backoff(), poll_bound, slots=slots, start=start, long_poll_ms=long_poll,
                    idle_s=settings.poll_interval_s)  # fmt: skip
    streamer = None
    if settings.stream_enabled:
        streamer = Streamer(config, gateway, new_backoff(), settings.stream_timeout_s + 60, start=start,
                            stream_timeout_s=settings.stream_timeout_s)  # fmt: skip
    runtime = TaskRuntime(spec.type, slots, Executor(spec, deps, commands, executor_settings), poller, streamer)
    holder.append(runtime)
    return runtime


async def run_until_signalled(worker: JobWorker, grace_s: float | None = None) -> None:
    """Run ``worker`` until SIGINT/SIGTERM, then stop it within ``grace_s`` (default: the worker's own)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    work = asyncio.create_task(worker.work())
    waiter = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait({work, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if work in done:
            work.result()  # re-raise why the worker ended
            return
        log.info("worker_stopping", grace_s=worker.grace_s if grace_s is None else grace_s)
        await worker.stop(grace_s)
        await work
    finally:
        waiter.cancel()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
