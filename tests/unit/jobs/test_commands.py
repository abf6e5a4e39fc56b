"""Commands: retried on back-pressure within the lease; NOT_FOUND = superseded (debug), never an error."""

from __future__ import annotations

import grpc
from pyzeebe.proto.gateway_pb2 import CompleteJobRequest, FailJobRequest
from structlog.testing import capture_logs

from workers.jobs.backoff import Backoff
from workers.jobs.commands import Ack, Commands
from workers.jobs.gateway import Gateway
from tests.unit.jobs.fakes import FakeStub, rpc_error


def commands(stub: FakeStub, refresh=None) -> tuple[Commands, list[float]]:
    slept: list[float] = []

    async def sleep(s: float) -> None:
        slept.append(s)

    return Commands(Gateway(stub, refresh), lambda: Backoff(0.025, 1.0), sleep=sleep), slept


async def test_back_pressure_on_complete_is_retried_until_acknowledged() -> None:
    stub = FakeStub()
    stub.script("CompleteJob", rpc_error(grpc.StatusCode.RESOURCE_EXHAUSTED), rpc_error(grpc.StatusCode.UNAVAILABLE))
    cmds, slept = commands(stub)
    ack = await cmds.complete(CompleteJobRequest(jobKey=1, variables="{}"), lambda: 30.0)
    assert ack is Ack.ACKED
    assert len(stub.requests["CompleteJob"]) == 3 and len(stub.completed) == 1
    assert len(slept) == 2 and slept[0] <= 0.025 and slept[1] <= 0.05  # starts small
    assert cmds.gateway.last_ok is not None


async def test_not_found_on_complete_is_superseded_and_logged_at_debug_only() -> None:
    stub = FakeStub()
    stub.script("CompleteJob", rpc_error(grpc.StatusCode.NOT_FOUND))
    cmds, slept = commands(stub)
    with capture_logs() as logs:
        ack = await cmds.complete(CompleteJobRequest(jobKey=1, variables="{}"), lambda: 30.0)
    assert ack is Ack.SUPERSEDED and stub.completed == [] and slept == []
    assert [(e["event"], e["log_level"]) for e in logs] == [("job_command_superseded", "debug")]


async def test_retries_stop_when_the_lease_runs_out() -> None:
    stub = FakeStub()
    stub.script("FailJob", *[rpc_error(grpc.StatusCode.RESOURCE_EXHAUSTED)] * 50)
    cmds, slept = commands(stub)
    left = [0.2]

    def remaining() -> float:
        return left[0] - sum(slept)

    ack = await cmds.fail(FailJobRequest(jobKey=1, retries=2), remaining)
    assert ack is Ack.GAVE_UP
    assert sum(slept) < 0.2 and stub.failed == []
    assert 2 <= len(stub.requests["FailJob"]) < 50


async def test_permanent_error_is_rejected_without_retry_and_without_its_text() -> None:
    stub = FakeStub()
    stub.script("CompleteJob", rpc_error(grpc.StatusCode.INVALID_ARGUMENT))
    cmds, slept = commands(stub)
    with capture_logs() as logs:
        ack = await cmds.complete(CompleteJobRequest(jobKey=1, variables="{}"), lambda: 30.0)
    assert ack is Ack.REJECTED and slept == [] and len(stub.requests["CompleteJob"]) == 1
    (line,) = logs
    assert line["event"] == "job_command_rejected" and line["status"] == "INVALID_ARGUMENT"
    assert "fake" not in repr(line)  # the gateway's details text is not logged


async def test_unauthenticated_refreshes_the_token_once_per_episode() -> None:
    stub = FakeStub()
    stub.script("CompleteJob", *[rpc_error(grpc.StatusCode.UNAUTHENTICATED)] * 3)
    refreshed: list[int] = []

    async def refresh() -> None:
        refreshed.append(1)

    cmds, _ = commands(stub, refresh)
    assert await cmds.complete(CompleteJobRequest(jobKey=1), lambda: 30.0) is Ack.ACKED
    assert len(refreshed) == 1  # one forced refresh, then back-off only
    stub.script("CompleteJob", rpc_error(grpc.StatusCode.PERMISSION_DENIED))
    assert await cmds.complete(CompleteJobRequest(jobKey=2), lambda: 30.0) is Ack.ACKED
    assert len(refreshed) == 2  # a success ended the first episode


async def test_a_failing_refresh_only_backs_off() -> None:
    stub = FakeStub()
    stub.script("CompleteJob", rpc_error(grpc.StatusCode.UNAUTHENTICATED))

    async def refresh() -> None:
        raise RuntimeError("token endpoint down: secret=abc")

    cmds, slept = commands(stub, refresh)
    with capture_logs() as logs:
        assert await cmds.complete(CompleteJobRequest(jobKey=1), lambda: 30.0) is Ack.ACKED
    assert len(slept) == 1
    failed = [e for e in logs if e["event"] == "zeebe_token_refresh_failed"]
    assert failed and failed[0]["error_type"] == "RuntimeError" and "secret" not in repr(failed)
