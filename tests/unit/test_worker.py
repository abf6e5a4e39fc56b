"""workers.worker: settings applied to the specs, and the signal-driven run of the worker command."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest
from pydantic import ValidationError

from tests.unit.jobs.fakes import FakeStub, Gate, activated, make_worker, spec, until
from workers.config import WorkerSettings
from workers.worker import configured_spec, run_until_signalled


def test_operator_overrides_apply_per_task_type() -> None:
    settings = WorkerSettings(max_running_jobs={"u.a": 4}, job_timeout_ms={"u.a": 90_000}, retry_backoff_scale=0.5)
    a = configured_spec(spec("u.a", Gate().handler, max_running_jobs=16, backoff_base_ms=1_000), settings)
    b = configured_spec(spec("u.b", Gate().handler, max_running_jobs=16), settings)
    assert (a.max_running_jobs, a.timeout_ms, a.backoff_base_ms) == (4, 90_000, 500)
    assert (b.max_running_jobs, b.timeout_ms) == (16, 30_000)


def test_worker_settings_refuse_a_cap_below_one() -> None:
    with pytest.raises(ValidationError, match="WORKER_MAX_RUNNING_JOBS"):
        WorkerSettings(max_running_jobs={"u.a": 0})


def test_the_cap_of_a_type_reaches_its_slots() -> None:
    worker = make_worker(FakeStub(), [spec("u.cap", Gate().handler)], max_running_jobs={"u.cap": 3})
    assert worker.by_type("u.cap").slots.capacity == 3
    assert worker.task_types == ["u.cap"]


async def test_sigterm_stops_activation_and_hands_back_what_outlives_the_grace_period() -> None:
    stub, gate = FakeStub(), Gate()
    stub.backlog["u.sig"].append(activated("u.sig", retries=3))
    worker = make_worker(stub, [spec("u.sig", gate.handler)], handback_backoff_ms=250)
    run = asyncio.create_task(run_until_signalled(worker, grace_s=0))
    await until(lambda: gate.running == 1, "handler running")
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(run, 30)
    (fail,) = stub.failed
    assert (fail.retries, fail.retryBackOff) == (3, 250)
    assert gate.cancelled == 1


async def test_a_dead_loop_ends_run_until_signalled_with_an_error() -> None:
    stub = FakeStub()
    stub.script("StreamActivatedJobs", ZeroDivisionError())
    worker = make_worker(stub, [spec("u.dead", Gate().handler)])
    with pytest.raises(RuntimeError, match="stream-u.dead ended unexpectedly"):
        await asyncio.wait_for(run_until_signalled(worker), 30)
