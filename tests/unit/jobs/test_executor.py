"""One job: deadline bound, heartbeat, size check, outcome counted after the acknowledgement."""

from __future__ import annotations

import asyncio
import json

import grpc
import structlog
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from workers.errors import TransientError
from workers.jobs.backoff import Backoff
from workers.jobs.commands import Ack, Commands
from workers.jobs.executor import Executor, ExecutorSettings
from workers.jobs.gateway import Gateway
from workers.jobs.job import Job
from tests.unit.jobs.fakes import FakeStub, Out, activated, rpc_error, spec, until


def executor(stub: FakeStub, the_spec, **settings) -> Executor:
    commands = Commands(Gateway(stub), lambda: Backoff(0.001, 0.01))
    return Executor(the_spec, None, commands, ExecutorSettings(**settings))


def jobs_metric(task_type: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("contract_jobs_total", {"task_type": task_type, "outcome": outcome}) or 0.0


async def test_completion_is_counted_and_logged_only_after_zeebe_acknowledged() -> None:
    stub = FakeStub()
    seen_before_ack: list[tuple[float, list[str]]] = []

    async def ok(data, job, deps) -> Out:
        return Out(n=5)

    stub.script("CompleteJob", rpc_error(grpc.StatusCode.RESOURCE_EXHAUSTED))
    ex = executor(stub, spec("u.ack", ok))
    with capture_logs() as logs:
        stub.on_command = lambda m, r: seen_before_ack.append(
            (jobs_metric("u.ack", "completed"), [e["event"] for e in logs],
             structlog.contextvars.get_contextvars().get("job_key")))
        ack = await ex.execute(Job.from_proto(activated("u.ack")))
    assert ack is Ack.ACKED
    assert json.loads(stub.completed[0].variables) == {"n": 5, "blob": ""}
    key = stub.completed[0].jobKey
    # nothing counted or logged as completed before the ack; the job context is bound while sending
    assert seen_before_ack == [(0.0, ["job_started", "job_command_retry"], key)]
    assert jobs_metric("u.ack", "completed") == 1.0
    assert [e["event"] for e in logs][-1] == "job_completed"


async def test_superseded_completion_is_not_counted_as_completed() -> None:
    stub = FakeStub()

    async def ok(data, job, deps) -> Out:
        return Out()

    stub.script("CompleteJob", rpc_error(grpc.StatusCode.NOT_FOUND))
    with capture_logs() as logs:
        assert await executor(stub, spec("u.super", ok)).execute(Job.from_proto(activated("u.super"))) is Ack.SUPERSEDED
    assert jobs_metric("u.super", "completed") == 0.0 and jobs_metric("u.super", "superseded") == 1.0
    assert not [e for e in logs if e["log_level"] in ("error", "warning")]


async def test_handler_past_its_deadline_is_stopped_and_the_job_failed_with_a_retry_spent() -> None:
    stub = FakeStub()
    cancelled = asyncio.Event()

    async def slow(data, job, deps) -> Out:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return Out()

    the_spec = spec("u.deadline", slow, timeout_ms=400, retries=3, backoff_base_ms=1_000)
    ex = executor(stub, the_spec, deadline_margin_ms=100)
    ack = await asyncio.wait_for(ex.execute(Job.from_proto(activated("u.deadline", retries=3, timeout_ms=400))), 30)
    assert ack is Ack.ACKED and cancelled.is_set() and stub.completed == []
    (fail,) = stub.failed
    assert fail.retries == 2 and fail.retryBackOff == 1_000
    assert "did not finish within its job timeout (0.4s)" in fail.errorMessage
    assert jobs_metric("u.deadline", "timed_out") == 1.0


async def test_heartbeat_extends_the_lease_of_a_long_handler() -> None:
    stub = FakeStub()

    async def long(data, job, deps) -> Out:
        # Runs until three extensions happened: far past the original 300 ms deadline.
        await until(lambda: len(stub.timeouts) >= 3, "three UpdateJobTimeout calls", bound_s=30)
        return Out()

    the_spec = spec("u.beat", long, timeout_ms=300, heartbeat=True)
    ack = await executor(stub, the_spec, deadline_margin_ms=50).execute(
        Job.from_proto(activated("u.beat", timeout_ms=300)))
    assert ack is Ack.ACKED and len(stub.completed) == 1 and stub.failed == []
    assert all(r.timeout == 300 for r in stub.timeouts)


async def test_heartbeat_not_found_cancels_the_handler_and_sends_nothing() -> None:
    stub = FakeStub()
    stub.script("UpdateJobTimeout", rpc_error(grpc.StatusCode.NOT_FOUND))
    cancelled = asyncio.Event()

    async def long(data, job, deps) -> Out:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return Out()

    the_spec = spec("u.gone", long, timeout_ms=30_000, heartbeat=True)
    ex = executor(stub, the_spec)
    ex.spec = spec("u.gone", long, timeout_ms=150, heartbeat=True)  # beat every 50 ms
    ack = await asyncio.wait_for(ex.execute(Job.from_proto(activated("u.gone", timeout_ms=30_000))), 30)
    assert ack is None and cancelled.is_set()
    assert stub.completed == [] and stub.failed == [] and stub.thrown == []
    assert len(stub.requests["UpdateJobTimeout"]) == 1


async def test_output_over_the_message_limit_becomes_a_clear_incident() -> None:
    stub = FakeStub()

    async def big(data, job, deps) -> Out:
        return Out(blob="x" * 5_000)

    ack = await executor(stub, spec("u.big", big), max_message_bytes=4_096).execute(
        Job.from_proto(activated("u.big")))
    assert ack is Ack.ACKED and stub.completed == []
    (fail,) = stub.failed
    assert fail.retries == 0
    size = int(fail.errorMessage.split(" is ")[1].split(" bytes")[0])
    assert size > 5_000 and f"{size - 4_096} bytes over the gateway's message limit of 4096 bytes" in fail.errorMessage
    assert jobs_metric("u.big", "too_large") == 1.0


async def test_output_within_the_limit_completes() -> None:
    stub = FakeStub()

    async def fits(data, job, deps) -> Out:
        return Out(blob="x" * 3_000)

    await executor(stub, spec("u.fits", fits), max_message_bytes=4_096).execute(Job.from_proto(activated("u.fits")))
    assert len(stub.completed) == 1 and stub.failed == []


async def test_abort_hands_the_job_back_with_retries_unchanged() -> None:
    stub = FakeStub()
    started = asyncio.Event()

    async def long(data, job, deps) -> Out:
        started.set()
        await asyncio.Event().wait()
        return Out()

    ex = executor(stub, spec("u.abort", long), handback_backoff_ms=700)
    run = asyncio.create_task(ex.execute(Job.from_proto(activated("u.abort", retries=2))))
    await started.wait()
    ex.abort()
    assert await asyncio.wait_for(run, 30) is Ack.ACKED
    (fail,) = stub.failed
    assert (fail.retries, fail.retryBackOff) == (2, 700)
    assert "handed back" in fail.errorMessage


async def test_transient_error_is_failed_with_its_back_off() -> None:
    stub = FakeStub()

    async def down(data, job, deps) -> Out:
        raise TransientError("provider down", retry_after=3)

    await executor(stub, spec("u.down", down)).execute(Job.from_proto(activated("u.down", retries=3)))
    (fail,) = stub.failed
    assert (fail.retries, fail.retryBackOff) == (2, 3_000)
