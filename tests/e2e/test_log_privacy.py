"""A failing job whose variables and exception text hold a national id, an email, a salary (and an IBAN)
leaves none of them in any log line, nor in the incident or BPMN error message: real engine, real worker
(``workers.worker.build_worker``), the project's real log formatter (``workers.logs.configure``).

Three ways to fail: an unexpected exception until retries are exhausted (incident), invalid variables
(BPMN error, caught by a boundary event), and an unexpected exception once (with a chained cause and an
asyncio task whose exception is never retrieved) followed by success. The messages sent to Zeebe are
read off the gRPC channel, so the test does not depend on how the runtime builds them.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import grpc
import pytest
from pydantic import BaseModel
from pyzeebe import ZeebeClient, create_insecure_channel

from tests.e2e.conftest import eventually, instance_log
from tests.e2e.nda_env import LogCollector
from workers import logs
from workers.config import WorkerSettings
from workers.tasks.runtime import JobInfo, TaskModel, TaskSpec
from workers.worker import build_worker

pytestmark = pytest.mark.e2e

BPMN = Path(__file__).parent / "bpmn" / "log-privacy.bpmn"
PROCESS_ID = "log-privacy-e2e"
TASK_TYPE = "test.log-privacy"
NATIONAL_ID = "756.9217.0769.85"
EMAIL = "ines.privat@example.org"
SALARY = 98765.43
IBAN = "CH93 0076 2011 6238 5295 7"
SENSITIVE = (NATIONAL_ID, EMAIL, "ines.privat", str(SALARY), IBAN, IBAN.replace(" ", ""))


class PayrollInput(TaskModel):
    national_id: str
    email: str
    salary: float
    mode: str


class PayrollOutput(TaskModel):
    exported: bool


class PayrollRecord(BaseModel):
    national_id: int
    salary: int


async def handle(data: PayrollInput, job: JobInfo, deps: Any) -> PayrollOutput:
    deps.seen.setdefault(job.process_instance_key, []).append(job.key)
    if data.mode == "crash":
        try:  # a pydantic error quoting the inputs, as the cause of an error quoting them again
            PayrollRecord.model_validate({"national_id": data.national_id, "salary": f"{data.salary} CHF"})
        except ValueError as exc:
            raise RuntimeError(f"payroll export failed for {data.email} ({data.national_id}): {data.salary}") from exc
    if data.mode == "flaky" and job.retries == 2:
        await _leak_a_task_exception(f"late failure: {data.salary} to {IBAN} for {data.email}")
        try:
            raise ValueError(f"no account {IBAN} for {data.email}")
        except ValueError:
            raise KeyError(data.national_id)  # noqa: B904 - the implicit context is the point
    return PayrollOutput(exported=True)


async def _leak_a_task_exception(text: str) -> None:
    async def fails() -> None:
        raise LookupError(text)

    task = asyncio.get_running_loop().create_task(fails())
    while not task.done():
        await asyncio.sleep(0)
    del task
    gc.collect()  # asyncio logs "Task exception was never retrieved ... exception=LookupError('...')"


SPEC = TaskSpec(
    type=TASK_TYPE, name="Test: log privacy", description="Fails with personal data in its variables and errors.",
    input_model=PayrollInput, output_model=PayrollOutput, handler=handle, timeout_ms=20_000, retries=2,
    backoff_base_ms=200, backoff_max_ms=1_000,
)  # fmt: skip


@dataclass
class Sent:
    """Job commands (FailJob, ThrowError, CompleteJob) the worker sent and Zeebe accepted."""

    commands: list[tuple[str, Any]] = field(default_factory=list)

    def of(self, name: str, job_keys: list[int]) -> list[Any]:
        return [r for n, r in self.commands if n == name and r.jobKey in job_keys]


class CommandRecorder(grpc.aio.UnaryUnaryClientInterceptor):
    def __init__(self, sent: Sent) -> None:
        self.sent = sent

    async def intercept_unary_unary(self, continuation, client_call_details, request):
        call = await continuation(client_call_details, request)
        method = client_call_details.method
        name = (method.decode() if isinstance(method, bytes) else method).rsplit("/", 1)[-1]
        if name in ("FailJob", "ThrowError", "CompleteJob"):
            try:
                await call
            except grpc.RpcError:
                return call
            self.sent.commands.append((name, request))
        return call


@pytest.fixture(scope="module")
async def privacy(engine):
    logs.configure("DEBUG", json=True)  # the real formatter, at its most talkative
    collector = LogCollector()
    logging.getLogger().addHandler(collector)
    sent = Sent()
    worker_channel = grpc.aio.insecure_channel(engine.address, interceptors=[CommandRecorder(sent)])
    client_channel = create_insecure_channel(grpc_address=engine.address)
    client = ZeebeClient(client_channel)
    await client.deploy_resource(str(BPMN))
    deps = SimpleNamespace(seen={})
    settings = WorkerSettings(name="e2e-log-privacy")
    worker = build_worker(worker_channel, deps, settings, specs=[replace(SPEC)])
    work = asyncio.create_task(worker.work())
    try:
        yield SimpleNamespace(client=client, sent=sent, logs=collector, seen=deps.seen)
    finally:
        await asyncio.wait_for(worker.stop(), timeout=30)
        work.cancel()
        await asyncio.gather(work, return_exceptions=True)
        await worker_channel.close()
        await client_channel.close()
        logging.getLogger().removeHandler(collector)
        logs.configure("INFO", json=True)


def variables(mode: str, salary: Any = SALARY) -> dict[str, Any]:
    return {"nationalId": NATIONAL_ID, "email": EMAIL, "salary": salary, "mode": mode}


def assert_nothing_sensitive(text: str, where: str) -> None:
    for value in SENSITIVE:
        assert value not in text, f"{value!r} found in {where}: {text}"


async def _async(value: Any) -> Any:
    return value


def exceptions_of(events: list[dict], event: str) -> list[str]:
    return [e.get("exception", "") for e in events if e.get("event") == event]


async def test_incident_after_retries_keeps_personal_data_out(privacy) -> None:
    instance = (await privacy.client.run_process(PROCESS_ID, variables=variables("crash"))).process_instance_key

    async def incident():
        keys = privacy.seen.get(instance, [])
        return [r for r in privacy.sent.of("FailJob", keys) if r.retries == 0]

    (last,) = await eventually(incident, timeout=90)
    fails = privacy.sent.of("FailJob", privacy.seen[instance])
    assert [f.retries for f in fails] == [1, 0]
    for fail in fails:
        assert "RuntimeError" in fail.errorMessage and TASK_TYPE in fail.errorMessage
        assert_nothing_sensitive(fail.errorMessage + fail.variables, "the FailJob command (Operate's incident)")
    events = instance_log(privacy.logs.lines, instance)
    rendered = exceptions_of(events, "job_unexpected_error")
    assert len(rendered) == 2, [e.get("event") for e in events]  # the lines exist: their privacy is tested
    for text in rendered:
        assert text.splitlines()[-1] == "RuntimeError (message withheld)"
        assert "ValidationError (message withheld; 2 error(s) of kind int_parsing)" in text
    assert_nothing_sensitive(privacy.logs.text(), "the worker log")


async def test_bpmn_error_keeps_personal_data_out(privacy) -> None:
    result = await privacy.client.run_process_with_result(
        PROCESS_ID, variables=variables("crash", salary=f"{SALARY} CHF"), timeout=120_000
    )
    error = result.variables["contractError"]
    assert (error["code"], error["fields"]) == ("CONTRACT_DATA_INVALID", ["salary"])
    assert_nothing_sensitive(json.dumps(error), "the contractError variable")
    # The handler never ran (the input model refused the variables), so this is the module's only ThrowError.
    # The command is recorded, and the line logged, once Zeebe's answer is back: possibly after the result.
    async def thrown_and_logged():
        thrown = [r for n, r in privacy.sent.commands if n == "ThrowError"]
        events = instance_log(privacy.logs.lines, result.process_instance_key)
        logged = [e.get("error_code") for e in events if e.get("event") == "job_bpmn_error"]
        return (thrown, logged) if thrown and logged else None

    (thrown,), logged = await eventually(thrown_and_logged, timeout=30)
    assert logged == ["CONTRACT_DATA_INVALID"]
    assert thrown.errorCode == "CONTRACT_DATA_INVALID" and "salary" in thrown.errorMessage
    assert_nothing_sensitive(thrown.errorMessage + thrown.variables, "the ThrowError command")
    assert_nothing_sensitive(privacy.logs.text(), "the worker log")


async def test_unexpected_exception_then_success_keeps_personal_data_out(privacy) -> None:
    result = await privacy.client.run_process_with_result(PROCESS_ID, variables=variables("flaky"), timeout=120_000)
    assert result.variables["exported"] is True
    keys = privacy.seen[result.process_instance_key]
    (fail,) = await eventually(lambda: _async(privacy.sent.of("FailJob", keys)), timeout=30)
    assert fail.retries == 1 and "KeyError" in fail.errorMessage
    assert_nothing_sensitive(fail.errorMessage, "the FailJob command")
    events = instance_log(privacy.logs.lines, result.process_instance_key)
    (rendered,) = exceptions_of(events, "job_unexpected_error")
    assert "ValueError (message withheld)" in rendered and rendered.endswith("KeyError (message withheld)")
    leaked = [json.loads(line) for line in privacy.logs.lines if '"logger": "asyncio"' in line]
    assert [e["event"].splitlines()[0] for e in leaked] == ["Task exception was never retrieved"]
    assert leaked[0]["exception"].endswith("LookupError (message withheld)")
    assert_nothing_sensitive(privacy.logs.text(), "the worker log")
