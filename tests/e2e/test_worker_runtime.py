"""The job runtime (workers/jobs) on the real engine: cap, backlog drain, shutdown, heartbeat, retry back-off.

Each test uses jobs of its own type (tests/e2e/bpmn/runtime-job.bpmn takes the type from ``taskType``) and
prints its figures (run with -s to see them).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from pyzeebe import ZeebeClient, create_insecure_channel
from pyzeebe.errors import ZeebeBackPressureError
from pyzeebe.proto.gateway_pb2 import ActivateJobsRequest, CompleteJobRequest
from pyzeebe.proto.gateway_pb2_grpc import GatewayStub

from tests.e2e.conftest import eventually
from workers.config import WorkerSettings
from workers.errors import TransientError
from workers.tasks.runtime import JobInfo, TaskModel, TaskSpec
from workers.worker import build_worker

pytestmark = pytest.mark.e2e

BPMN = Path(__file__).resolve().parent / "bpmn" / "runtime-job.bpmn"


class NoInput(TaskModel):
    pass


class Done(TaskModel):
    ok: bool = True


def figure(text: str) -> None:
    print(f"\n[worker-runtime] {text}", file=sys.stderr, flush=True)


def completed(task_type: str, outcome: str = "completed") -> int:
    return int(REGISTRY.get_sample_value("contract_jobs_total", {"task_type": task_type, "outcome": outcome}) or 0)


def new_type(name: str) -> str:
    return f"rt.{name}.{uuid.uuid4().hex[:8]}"


def spec(task_type: str, handler: Any, **overrides: Any) -> TaskSpec[NoInput, Done]:
    return TaskSpec(type=task_type, name=task_type, description="e2e", input_model=NoInput, output_model=Done,
                    handler=handler, **overrides)  # fmt: skip


@pytest.fixture
async def gateway(zeebe_address: str) -> AsyncIterator[tuple[Any, ZeebeClient]]:
    channel = create_insecure_channel(grpc_address=zeebe_address)
    client = ZeebeClient(channel)
    await client.deploy_resource(str(BPMN))
    yield channel, client
    await channel.close()


async def create_instances(client: ZeebeClient, task_type: str, n: int, concurrency: int = 32) -> list[int]:
    sem = asyncio.Semaphore(concurrency)

    async def one() -> int:
        async with sem:
            for attempt in range(200):  # the broker pushes back under a burst: retry, as a client should
                try:
                    created = await client.run_process("runtime-job", variables={"taskType": task_type})
                    return created.process_instance_key
                except ZeebeBackPressureError:
                    await asyncio.sleep(min(0.05 * 2**attempt, 1.0))
            raise AssertionError("the broker kept pushing back on instance creation")

    return await asyncio.gather(*[one() for _ in range(n)])


class Running:
    """Counts handlers running at once."""

    def __init__(self) -> None:
        self.now = 0
        self.max = 0
        self.starts: dict[int, int] = {}

    def enter(self, job: JobInfo) -> None:
        self.now += 1
        self.max = max(self.max, self.now)
        self.starts[job.key] = self.starts.get(job.key, 0) + 1

    def leave(self) -> None:
        self.now -= 1


async def start_worker(channel: Any, specs: list[Any], **settings: Any) -> tuple[Any, asyncio.Task[None]]:
    worker = build_worker(channel, None, WorkerSettings(name="e2e-runtime", **settings), specs=specs)
    return worker, asyncio.create_task(worker.work())


async def stop_worker(worker: Any, work: asyncio.Task[None], grace_s: float = 5) -> None:
    await worker.stop(grace_s=grace_s)
    await asyncio.wait_for(work, 60)


async def warm_stream(client: ZeebeClient, worker: Any, task_type: str) -> int:
    """Wait until the job stream of ``task_type`` carries jobs (it registers asynchronously in the broker).

    Returns how many warm-up instances it created (their jobs complete too)."""
    streamer = worker.by_type(task_type).streamer
    created = 0

    async def streamed() -> int:
        nonlocal created
        if streamer.received == 0:
            await create_instances(client, task_type, 1)
            created += 1
            await asyncio.sleep(0.5)
        return streamer.received

    await eventually(streamed, timeout=60, interval=0.1)
    return created


async def test_500_streamed_jobs_never_run_more_than_the_cap(gateway) -> None:
    channel, client = gateway
    task_type, running = new_type("cap"), Running()
    full = asyncio.Event()

    async def handler(data: NoInput, job: JobInfo, deps: Any) -> Done:
        running.enter(job)
        try:
            # The first handlers hold until the cap is reached, so the cap is really tested however slowly
            # a busy machine creates the instances (the bound only keeps a broken test from hanging).
            if running.now >= 16:
                full.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(full.wait(), timeout=30)
            await asyncio.sleep(0.05)
        finally:
            running.leave()
        return Done()

    worker, work = await start_worker(channel, [spec(task_type, handler, max_running_jobs=16)])
    try:
        base = completed(task_type)  # a new task type: 0
        # the warm-up jobs may still be held by the gate below, so they are counted with the 500
        expected = 500 + await warm_stream(client, worker, task_type)
        started = time.monotonic()
        await create_instances(client, task_type, 500)

        async def all_done() -> int | None:
            n = completed(task_type) - base
            return None if n < expected else n

        await eventually(all_done, timeout=120)
        elapsed = time.monotonic() - started
        rt = worker.by_type(task_type)
        figure(f"500 jobs, cap 16: max running at once {running.max}, streamed {rt.streamer.received}, "
               f"polled {rt.poller.received}, {elapsed:.1f}s ({500 / elapsed:.0f} jobs/s incl. creation)")
    finally:
        await stop_worker(worker, work)
    assert running.max == 16, f"max running at once was {running.max}, the cap is 16"
    assert rt.streamer.received >= 250, f"only {rt.streamer.received} of the jobs came through the stream"
    assert completed(task_type) - base == expected
    assert max(running.starts.values()) == 1, "a job ran twice"


async def test_backlog_of_1000_jobs_drains_within_60s_with_cap_16(gateway) -> None:
    channel, client = gateway
    task_type, running = new_type("backlog"), Running()

    async def noop(data: NoInput, job: JobInfo, deps: Any) -> Done:
        running.enter(job)
        running.leave()
        return Done()

    t0 = time.monotonic()
    await create_instances(client, task_type, 1000)
    figure(f"created 1000 instances in {time.monotonic() - t0:.1f}s (no worker running)")
    worker, work = await start_worker(channel, [spec(task_type, noop, max_running_jobs=16)])
    started = time.monotonic()
    try:
        async def drained() -> int | None:
            n = completed(task_type)
            return None if n < 1000 else n

        await eventually(drained, timeout=60, interval=0.1)
        elapsed = time.monotonic() - started
        rt = worker.by_type(task_type)
        figure(f"backlog of 1000 drained in {elapsed:.1f}s ({1000 / elapsed:.0f} jobs/s), cap 16, "
               f"{rt.poller.polls} polls, streamed {rt.streamer.received}")
    finally:
        await stop_worker(worker, work)
    assert elapsed < 60
    assert running.max <= 16


async def test_stop_during_50_in_flight_handlers_hands_them_back_with_retries_unchanged(gateway) -> None:
    channel, client = gateway
    task_type, running = new_type("stop"), Running()

    async def long(data: NoInput, job: JobInfo, deps: Any) -> Done:
        running.enter(job)
        try:
            await asyncio.sleep(20)
        finally:
            running.leave()
        return Done()

    worker, work = await start_worker(channel, [spec(task_type, long, max_running_jobs=60, timeout_ms=60_000)],
                                      handback_backoff_ms=500)  # fmt: skip
    try:
        await create_instances(client, task_type, 50)

        async def all_running() -> int | None:
            return running.now if running.now == 50 else None

        await eventually(all_running, timeout=60, interval=0.1)
    finally:
        grace = 2.0
        t0 = time.monotonic()
        await stop_worker(worker, work, grace_s=grace)
        took = time.monotonic() - t0
    figure(f"stop with 50 in-flight 20 s handlers, grace {grace}s: took {took:.1f}s")
    assert took < grace + 15, f"stop took {took:.1f}s"
    assert running.now == 0
    assert completed(task_type, "handed_back") == 50
    assert completed(task_type, "completed") == 0

    # Read the jobs back: each one is activatable again (no incident) with its 3 retries.
    stub = GatewayStub(channel)
    retries: dict[int, int] = {}

    async def all_back() -> dict[int, int] | None:
        request = ActivateJobsRequest(type=task_type, worker="e2e-readback", timeout=60_000,
                                      maxJobsToActivate=50, requestTimeout=1_000, fetchVariable=["none"])  # fmt: skip
        async for response in stub.ActivateJobs(request, timeout=10):
            for job in response.jobs:
                retries[job.key] = job.retries
        return retries if len(retries) == 50 else None

    await eventually(all_back, timeout=60, interval=0.1)
    assert set(running.starts) == set(retries), "the jobs read back are not the ones that were running"
    assert sorted(set(retries.values())) == [3], f"retries after the hand-back: {sorted(retries.values())}"
    for key in retries:  # leave nothing behind
        await stub.CompleteJob(CompleteJobRequest(jobKey=key, variables="{}"), timeout=10)


async def test_30s_handler_with_10s_timeout_and_heartbeat_completes_once(gateway) -> None:
    channel, client = gateway
    task_type, running = new_type("beat"), Running()

    async def slow(data: NoInput, job: JobInfo, deps: Any) -> Done:
        running.enter(job)
        try:
            await asyncio.sleep(30)
        finally:
            running.leave()
        return Done()

    worker, work = await start_worker(channel, [spec(task_type, slow, timeout_ms=10_000, heartbeat=True)])
    try:
        t0 = time.monotonic()
        result = await client.run_process_with_result("runtime-job", variables={"taskType": task_type},
                                                      timeout=90_000)  # fmt: skip
        figure(f"30 s handler, 10 s job timeout, heartbeat: completed after {time.monotonic() - t0:.1f}s")
    finally:
        await stop_worker(worker, work)
    assert result.variables["ok"] is True
    assert list(running.starts.values()) == [1], f"handler runs per job: {running.starts}"
    assert completed(task_type) == 1
    assert completed(task_type, "timed_out") == 0


async def test_job_failed_with_a_retry_back_off_is_activated_again_and_completes(gateway) -> None:
    channel, client = gateway
    task_type, running = new_type("retry"), Running()

    async def flaky(data: NoInput, job: JobInfo, deps: Any) -> Done:
        running.enter(job)
        running.leave()
        if running.starts[job.key] == 1:
            raise TransientError("provider down (test)", retry_after=1.6)
        return Done()

    worker, work = await start_worker(channel, [spec(task_type, flaky)])
    try:
        await warm_stream(client, worker, task_type)
        t0 = time.monotonic()
        result = await client.run_process_with_result("runtime-job", variables={"taskType": task_type},
                                                      timeout=60_000)  # fmt: skip
        rt = worker.by_type(task_type)
        figure(f"failed with 1.6 s back-off, re-activated and completed after {time.monotonic() - t0:.1f}s "
               f"(streamed {rt.streamer.received}, polled {rt.poller.received} so far)")
    finally:
        await stop_worker(worker, work)
    assert result.variables["ok"] is True
    assert running.starts[max(running.starts)] == 2, f"attempts per job: {running.starts}"
    assert completed(task_type, "failed") >= 1
