"""The worker on a fake gateway: one cap across polling and streaming, event-driven polls, shutdown."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from structlog.testing import capture_logs

from tests.unit.jobs.fakes import FakeStub, Gate, Out, activated, make_worker, rpc_error, spec, until


async def start(worker) -> asyncio.Task:
    return asyncio.create_task(worker.work())


async def finish(worker, work: asyncio.Task, grace_s: float = 5) -> None:
    await worker.stop(grace_s=grace_s)
    await asyncio.wait_for(work, 30)


async def test_one_cap_covers_polling_and_streaming() -> None:
    stub, gate = FakeStub(), Gate()
    for _ in range(10):
        stub.backlog["u.cap"].append(activated("u.cap"))
    worker = make_worker(stub, [spec("u.cap", gate.handler, max_running_jobs=4)])
    work = await start(worker)
    await until(lambda: stub.streams_opened == 1, "stream opened")
    for _ in range(10):
        stub.pushes["u.cap"].put_nowait(activated("u.cap"))
    await until(lambda: gate.running == 4, "cap reached")
    rt = worker.by_type("u.cap")
    await until(lambda: rt.slots.queued == 10, "streamed jobs queued behind the cap")
    assert gate.running == 4 and rt.slots.held == 4
    gate.release.set()
    await until(lambda: len(stub.completed) == 20, "all 20 jobs completed")
    assert gate.max_running == 4
    await finish(worker, work)


async def test_poller_asks_for_exactly_the_free_slots_and_polls_again_when_one_frees() -> None:
    stub = FakeStub()
    for _ in range(5):
        stub.backlog["u.poll"].append(activated("u.poll"))
    releases: list[asyncio.Event] = []

    async def handler(data, job, deps):
        ev = asyncio.Event()
        releases.append(ev)
        await ev.wait()
        return Out()

    worker = make_worker(stub, [spec("u.poll", handler, max_running_jobs=2)], stream_enabled=False, long_poll_ms=60_000)
    work = await start(worker)
    await until(lambda: len(releases) == 2, "two handlers running")
    polls = stub.requests["ActivateJobs"]
    assert [r.maxJobsToActivate for r in polls] == [2]
    assert polls[0].requestTimeout == 60_000  # streaming off: long polling
    releases[0].set()
    await until(lambda: len(releases) == 3, "a third job activated as soon as a slot freed")
    assert [r.maxJobsToActivate for r in polls] == [2, 1]

    def release_all() -> bool:
        for ev in releases:
            ev.set()
        return len(stub.completed) == 5

    await until(release_all, "all five jobs completed")
    await finish(worker, work)


async def test_streaming_on_polls_without_long_polling_and_picks_up_jobs_the_stream_never_pushed() -> None:
    stub, gate = FakeStub(), Gate()
    gate.release.set()
    worker = make_worker(stub, [spec("u.drain", gate.handler)])
    work = await start(worker)
    await until(lambda: len(stub.requests["ActivateJobs"]) >= 2, "idle polls")
    assert all(r.requestTimeout == -1 for r in stub.requests["ActivateJobs"])
    # e.g. a job whose retry back-off ran out: activatable again, never pushed on the stream
    stub.backlog["u.drain"].append(activated("u.drain"))
    await until(lambda: len(stub.completed) == 1, "the job only polling can see completed")
    await finish(worker, work)


async def test_back_pressure_on_activation_backs_off_small_and_growing_then_recovers() -> None:
    stub, gate = FakeStub(), Gate()
    gate.release.set()
    stub.script("ActivateJobs", *[rpc_error(grpc.StatusCode.RESOURCE_EXHAUSTED)] * 4)
    stub.backlog["u.bp"].append(activated("u.bp"))
    worker = make_worker(stub, [spec("u.bp", gate.handler)], stream_enabled=False, backoff_initial_ms=1,
                         backoff_max_ms=1_000)  # fmt: skip
    poller = worker.by_type("u.bp").poller
    slept: list[float] = []

    async def sleep(s: float) -> None:
        slept.append(s)

    poller._sleep = sleep
    work = await start(worker)
    await until(lambda: len(stub.completed) == 1, "completed after the back-pressure passed")
    assert len(slept) == 4 and all(slept[i] < 0.001 * 2**i + 1e-9 for i in range(4))
    assert slept[3] > slept[0]  # grows (equal jitter keeps at least half of the doubled nominal)
    assert poller.backoff.attempt == 0  # reset on success
    await finish(worker, work)


async def test_planned_stream_expiry_reopens_at_once_and_is_not_an_error() -> None:
    stub = FakeStub()
    worker = make_worker(stub, [spec("u.exp", Gate().handler)], stream_timeout_s=0.01)
    streamer = worker.by_type("u.exp").streamer
    with capture_logs() as logs:
        work = await start(worker)
        for opened in (1, 2, 3):
            await until(lambda: stub.streams_opened == opened, f"stream opened {opened} times")
            await asyncio.sleep(0.02)  # let the stream reach its timeout, then end it as grpc does
            stub.pushes["u.exp"].put_nowait(rpc_error(grpc.StatusCode.DEADLINE_EXCEEDED))
        await until(lambda: stub.streams_opened == 4, "stream re-opened after each expiry")
        await finish(worker, work, grace_s=0)
    assert streamer.backoff.attempt == 0
    assert not [e for e in logs if e["log_level"] == "error"]


async def test_stop_hands_back_leftovers_with_retries_unchanged_and_queued_jobs_at_once() -> None:
    stub, gate = FakeStub(), Gate()
    for retries in (3, 2, 1):
        stub.backlog["u.stop"].append(activated("u.stop", retries=retries))
    worker = make_worker(stub, [spec("u.stop", gate.handler, max_running_jobs=3)], handback_backoff_ms=500)
    work = await start(worker)
    await until(lambda: gate.running == 3, "three handlers running")
    await until(lambda: stub.streams_opened == 1, "stream opened")
    stub.pushes["u.stop"].put_nowait(activated("u.stop", retries=5))
    await until(lambda: worker.by_type("u.stop").slots.queued == 1, "one streamed job queued")
    polls = len(stub.requests["ActivateJobs"])
    await finish(worker, work, grace_s=0)
    assert gate.cancelled == 3 and stub.completed == []
    assert sorted((f.retries, f.retryBackOff) for f in stub.failed) == [(1, 500), (2, 500), (3, 500), (5, 500)]
    assert len(stub.requests["ActivateJobs"]) == polls  # activation stopped


async def test_handlers_that_finish_within_the_grace_period_complete_normally() -> None:
    stub, gate = FakeStub(), Gate()
    stub.backlog["u.grace"].append(activated("u.grace"))
    worker = make_worker(stub, [spec("u.grace", gate.handler)])
    work = await start(worker)
    await until(lambda: gate.running == 1, "handler running")
    stopping = asyncio.create_task(worker.stop(grace_s=30))
    await until(lambda: worker.ready()[0] is False, "unready while stopping")
    gate.release.set()
    await asyncio.wait_for(stopping, 30)
    await asyncio.wait_for(work, 30)
    assert len(stub.completed) == 1 and stub.failed == []


async def test_a_streamed_job_whose_deadline_nearly_passed_while_queued_is_dropped() -> None:
    stub, gate = FakeStub(), Gate()
    stub.backlog["u.drop"].append(activated("u.drop"))
    worker = make_worker(stub, [spec("u.drop", gate.handler, max_running_jobs=1)], deadline_margin_ms=2_000)
    work = await start(worker)
    await until(lambda: gate.running == 1, "cap full")
    await until(lambda: stub.streams_opened == 1, "stream opened")
    # 2.5 s left minus the 2 s margin leaves the handler under 1 s: dropped (Zeebe re-activates it)
    stub.pushes["u.drop"].put_nowait(activated("u.drop", seconds_left=2.5))
    stub.pushes["u.drop"].put_nowait(activated("u.drop", seconds_left=30))
    await until(lambda: worker.by_type("u.drop").slots.queued == 2, "both queued")
    gate.release.set()
    await until(lambda: len(stub.completed) == 2 and worker.by_type("u.drop").slots.held == 0, "drained")
    assert gate.started == 2 and stub.failed == []
    await finish(worker, work)


async def test_a_loop_that_dies_makes_work_raise() -> None:
    stub = FakeStub()
    stub.script("ActivateJobs", ZeroDivisionError())
    worker = make_worker(stub, [spec("u.die", Gate().handler)])
    with pytest.raises(RuntimeError, match="ended unexpectedly"):
        await asyncio.wait_for(worker.work(), 30)


async def test_liveness_and_readiness() -> None:
    stub = FakeStub()
    worker = make_worker(stub, [spec("u.health", Gate().handler)])
    assert worker.ready() == (False, "no answer from the gateway within 60s")
    work = await start(worker)
    await until(lambda: worker.ready()[0], "ready after a successful poll")
    assert worker.alive() == (True, "ok")
    poller = worker.by_type("u.health").poller
    poller.last_tick -= 10_000
    ok, why = worker.alive()
    assert not ok and "poll-u.health made no progress" in why
    await finish(worker, work)


async def test_stream_errors_back_off_and_reconnect_forever() -> None:
    stub, gate = FakeStub(), Gate()
    gate.release.set()
    stub.script("StreamActivatedJobs", *[rpc_error(grpc.StatusCode.UNAVAILABLE)] * 6)
    worker = make_worker(stub, [spec("u.re", gate.handler)], backoff_initial_ms=1, backoff_max_ms=4)
    with capture_logs() as logs:
        work = await start(worker)
        await until(lambda: stub.streams_opened == 7, "stream re-opened after six failures")
        stub.pushes["u.re"].put_nowait(activated("u.re"))
        await until(lambda: len(stub.completed) == 1, "a pushed job completed on the new stream")
        await finish(worker, work)
    backoffs = [e for e in logs if e["event"] == "job_loop_backoff" and e["loop"] == "stream"]
    assert [e["attempt"] for e in backoffs] == [1, 2, 3, 4, 5, 6]
    assert all(e["delay_ms"] <= 4 for e in backoffs)  # capped at 4 ms
    # one line when it starts, a warning when it lasts, quiet (debug) in between
    assert [e["log_level"] for e in backoffs] == ["info", "debug", "debug", "debug", "warning", "debug"]
    assert not [e for e in logs if e["log_level"] == "error"]


async def test_unauthenticated_activation_refreshes_the_token_once_and_keeps_polling() -> None:
    stub, gate = FakeStub(), Gate()
    gate.release.set()
    stub.script("ActivateJobs", *[rpc_error(grpc.StatusCode.UNAUTHENTICATED)] * 3)
    stub.backlog["u.auth"].append(activated("u.auth"))
    worker = make_worker(stub, [spec("u.auth", gate.handler)], stream_enabled=False)
    refreshed: list[int] = []

    async def refresh() -> None:
        refreshed.append(1)

    worker.gateway._refresh_token = refresh
    work = await start(worker)
    await until(lambda: len(stub.completed) == 1, "job completed once the credentials worked again")
    assert refreshed == [1] and not work.done()
    await finish(worker, work)
