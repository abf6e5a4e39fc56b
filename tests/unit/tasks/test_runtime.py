"""workers.tasks.runtime: TaskSpec, validation messages, and the mapping of handler outcomes to commands.

``decide`` runs a spec's handler on a real ``Job`` (as the job runtime decodes it) and returns the command
the runtime would send; ``report`` is what the runtime calls once Zeebe acknowledged it.
"""

from __future__ import annotations

import json
import time
import types
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pytest
from prometheus_client import REGISTRY
from pydantic import ValidationError
from structlog.testing import capture_logs

from workers import __version__
from workers.errors import BusinessError, ContractDataInvalid, TransientError
from workers.jobs.job import Job
from workers.tasks import ping, runtime
from workers.tasks.runtime import Complete, Fail, JobInfo, TaskModel, TaskSpec, Throw, describe_validation

JOB_KEY = 2251799813685301
PI_KEY = 2251799813685290


def make_job(task_type: str, variables: dict[str, Any], retries: int = 3) -> Job:
    return Job(
        key=JOB_KEY,
        type=task_type,
        process_instance_key=PI_KEY,
        bpmn_process_id="contract-flow",
        element_id="Task_Under_Test",
        element_instance_key=2251799813685299,
        retries=retries,
        deadline=int((time.time() + 30) * 1000),
        variables=types.MappingProxyType(variables),
        custom_headers=types.MappingProxyType({}),
    )


@dataclass
class Harness:
    spec: TaskSpec[Any, Any]
    deps: Any = None

    async def run(self, variables: dict[str, Any], retries: int = 3) -> tuple[Job, runtime.Command]:
        """Decide, then report as if Zeebe acknowledged the command."""
        job = make_job(self.spec.type, variables, retries)
        command = await runtime.decide(self.spec, job, self.deps)
        runtime.report(self.spec, command, True, 0.01)
        return job, command


def harness(spec: TaskSpec[Any, Any], deps: Any = None) -> Harness:
    return Harness(spec, deps)


def jobs_metric(task_type: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("contract_jobs_total", {"task_type": task_type, "outcome": outcome}) or 0.0


# -- specs built for these tests ------------------------------------------------------------------


class NoInput(TaskModel):
    pass


class Done(TaskModel):
    done_at_step: int = 1


def spec_raising(exc: BaseException, task_type: str, **overrides: Any) -> TaskSpec[NoInput, Done]:
    async def handler(data: NoInput, job: JobInfo, deps: Any) -> Done:
        raise exc

    return TaskSpec(
        type=task_type,
        name="raises",
        description="raises for the test",
        input_model=NoInput,
        output_model=Done,
        handler=handler,
        **overrides,
    )


# -- TaskSpec -------------------------------------------------------------------------------------


def test_backoff_grows_exponentially_and_is_capped() -> None:
    spec = spec_raising(RuntimeError(), "t.backoff", retries=8, backoff_base_ms=1_000, backoff_max_ms=20_000)
    # retries_left == spec.retries is the first attempt.
    assert [spec.backoff_ms(left) for left in range(8, 0, -1)] == [
        1_000, 2_000, 4_000, 8_000, 16_000, 20_000, 20_000, 20_000,
    ]  # fmt: skip


def test_backoff_never_below_base_even_if_retries_were_raised_by_an_operator() -> None:
    spec = spec_raising(RuntimeError(), "t.backoff2", retries=3, backoff_base_ms=500)
    assert spec.backoff_ms(10) == 500  # more retries left than configured: attempt clamps at 1
    assert spec.backoff_ms(3) == 500
    assert spec.backoff_ms(1) == 2_000


def test_variable_names_use_camel_case_aliases() -> None:
    class Employee(TaskModel):
        email_address: str

    class In(TaskModel):
        employee_name: str
        start_date: date
        employee: Employee
        template_id: str = "nda-001"

    spec = TaskSpec(
        type="t.names",
        name="n",
        description="d",
        input_model=In,
        output_model=Done,
        handler=None,  # type: ignore[arg-type]
        extra_variables=("requestId",),
    )
    assert spec.variable_names() == ["employeeName", "startDate", "employee", "templateId", "requestId"]
    assert ping.SPEC.variable_names() == ["message"]


def test_task_model_accepts_camel_case_and_snake_case_and_dumps_camel_case() -> None:
    class Out(TaskModel):
        worker_version: str

    assert Out.model_validate({"workerVersion": "1"}).worker_version == "1"
    assert Out(worker_version="2").model_dump(by_alias=True) == {"workerVersion": "2"}


# -- describe_validation --------------------------------------------------------------------------


class _Employee(TaskModel):
    email_address: str


class _Request(TaskModel):
    start_date: date
    employee: _Employee
    level: int


SECRET_LOOKING = "sk_live_DO-NOT-ECHO-51Hx9"


def test_describe_validation_names_fields_and_never_values() -> None:
    with pytest.raises(ValidationError) as info:
        _Request.model_validate(
            {
                "startDate": SECRET_LOOKING,
                "employee": {"emailAddress": [SECRET_LOOKING]},
                "level": SECRET_LOOKING,
            }
        )
    message, fields = describe_validation(info.value)
    assert fields == ["startDate", "employee.emailAddress", "level"]
    for name in fields:
        assert f"{name}: " in message
    assert SECRET_LOOKING not in message
    assert "sk_live" not in message


def test_describe_validation_missing_fields() -> None:
    with pytest.raises(ValidationError) as info:
        _Request.model_validate({"employee": {}})
    message, fields = describe_validation(info.value)
    assert fields == ["startDate", "employee.emailAddress", "level"]
    assert "startDate: field required" in message


def test_describe_validation_root_error() -> None:
    with pytest.raises(ValidationError) as info:
        _Request.model_validate(SECRET_LOOKING)
    message, fields = describe_validation(info.value)
    assert fields == ["(root)"]
    assert message.startswith("(root): ")
    assert SECRET_LOOKING not in message


# -- fetch list, success ----------------------------------------------------------------------------


def test_ping_fetches_only_what_its_input_model_reads() -> None:
    assert ping.SPEC.fetch_variables() == ["message"]
    assert ping.SPEC.timeout_ms == 10_000


def test_spec_without_inputs_does_not_fetch_all_variables() -> None:
    # An empty list would mean "all variables" (personal data included) to Zeebe.
    assert spec_raising(RuntimeError(), "t.noinput").fetch_variables() == ["__fetch_no_variables__"]


async def test_ping_success_returns_camel_case_output() -> None:
    h = harness(ping.SPEC)
    before = jobs_metric("contract.ping", "completed")
    _, command = await h.run({"message": "hello", "employeeName": "not fetched"})

    assert isinstance(command, Complete)
    out = command.variables
    assert set(out) == {"pong", "answeredBy", "workerVersion", "answeredAt"}
    assert out["pong"] == "olleh"
    assert out["workerVersion"] == __version__
    assert isinstance(out["answeredAt"], str)  # JSON mode: a string, not a datetime
    datetime.fromisoformat(out["answeredAt"])
    assert jobs_metric("contract.ping", "completed") == before + 1
    request = runtime.to_request(JOB_KEY, command)
    assert request.jobKey == JOB_KEY and json.loads(request.variables) == out


async def test_outcome_is_counted_only_when_acknowledged() -> None:
    before = jobs_metric("contract.ping", "completed")
    command = await runtime.decide(ping.SPEC, make_job("contract.ping", {}), None)
    with capture_logs() as logs:
        runtime.report(ping.SPEC, command, False, 0.01)  # superseded: not completed
    assert jobs_metric("contract.ping", "completed") == before
    assert [(e["event"], e["log_level"]) for e in logs] == [("job_superseded", "debug")]


async def test_ping_default_message_when_variable_absent() -> None:
    _, command = await harness(ping.SPEC).run({})
    assert isinstance(command, Complete) and command.variables["pong"] == "gnip"


async def test_blank_message_is_a_bpmn_error() -> None:
    h = harness(ping.SPEC)
    before = jobs_metric("contract.ping", "bpmn_error")
    _, err = await h.run({"message": "   "})

    assert isinstance(err, Throw)
    assert err.code == "CONTRACT_DATA_INVALID"
    assert err.message == "ping message must not be blank"
    assert err.variables == {
        "contractError": {
            "code": "CONTRACT_DATA_INVALID",
            "message": "ping message must not be blank",
            "fields": ["message"],
            "elementId": "Task_Under_Test",
        }
    }
    assert jobs_metric("contract.ping", "bpmn_error") == before + 1
    request = runtime.to_request(JOB_KEY, err)
    assert (request.errorCode, request.errorMessage) == (err.code, err.message)
    assert json.loads(request.variables) == err.variables


@pytest.mark.parametrize("bad", [123, ["hello", SECRET_LOOKING], {"text": SECRET_LOOKING}])
async def test_invalid_type_is_a_bpmn_error_naming_the_field(bad: Any) -> None:
    _, err = await harness(ping.SPEC).run({"message": bad})

    assert isinstance(err, Throw)
    assert err.code == ContractDataInvalid.CODE
    assert "contract.ping" in err.message
    assert "message: " in err.message
    assert SECRET_LOOKING not in err.message
    assert SECRET_LOOKING not in repr(err.variables)
    assert err.variables["contractError"]["fields"] == ["message"]


async def test_other_business_error_keeps_its_code() -> None:
    h = harness(spec_raising(BusinessError("TEMPLATE_UNKNOWN", "template nda-999 is not known"), "t.business"))
    _, err = await h.run({})
    assert isinstance(err, Throw)
    assert err.code == "TEMPLATE_UNKNOWN"
    assert err.variables["contractError"]["fields"] == []
    assert err.variables["contractError"]["code"] == "TEMPLATE_UNKNOWN"


async def test_handler_receives_typed_input_job_info_and_deps() -> None:
    seen: dict[str, Any] = {}

    class In(TaskModel):
        template_id: str

    async def handler(data: In, job: JobInfo, deps: Any) -> Done:
        seen.update(data=data, job=job, deps=deps)
        return Done(done_at_step=7)

    spec = TaskSpec(type="t.seen", name="n", description="d", input_model=In, output_model=Done, handler=handler)
    deps = object()
    job, command = await harness(spec, deps).run({"templateId": "nda-001"}, retries=2)

    assert command == Complete({"doneAtStep": 7})
    assert seen["data"] == In(template_id="nda-001")
    assert seen["deps"] is deps
    info: JobInfo = seen["job"]
    assert (info.key, info.process_instance_key, info.retries) == (JOB_KEY, PI_KEY, 2)
    assert (info.bpmn_process_id, info.element_id) == ("contract-flow", "Task_Under_Test")
    assert info.deadline_ms == job.deadline
    assert 25 < info.seconds_left() <= 30


# -- failures -------------------------------------------------------------------------------------


async def test_transient_error_fails_job_with_one_retry_spent_and_backoff() -> None:
    spec = spec_raising(TransientError("provider down", retry_after=None), "t.transient", retries=3)
    before = jobs_metric("t.transient", "failed")
    job, call = await harness(spec).run({}, retries=2)

    assert isinstance(call, Fail)
    assert call.retries == job.retries - 1 == 1
    assert call.backoff_ms == spec.backoff_ms(job.retries) == 2_000
    assert call.message.startswith("provider down")
    assert "retrying in 2s, 1 retries left" in call.message
    assert jobs_metric("t.transient", "failed") == before + 1
    request = runtime.to_request(JOB_KEY, call)
    assert (request.retries, request.retryBackOff, request.variables) == (1, 2_000, "{}")


async def test_rate_limit_keeps_retries_and_uses_retry_after() -> None:
    spec = spec_raising(TransientError("provider rate limit", retry_after=7, spend_retry=False), "t.ratelimit")
    job, call = await harness(spec).run({}, retries=3)
    assert isinstance(call, Fail)
    assert call.retries == job.retries == 3
    assert call.backoff_ms == 7_000
    assert "retrying in 7s" in call.message


async def test_fractional_retry_after_is_converted_to_ms() -> None:
    _, call = await harness(spec_raising(TransientError("slow down", retry_after=1.5), "t.fraction")).run({})
    assert isinstance(call, Fail) and call.backoff_ms == 1_500


async def test_unexpected_exception_message_names_only_its_type() -> None:
    spec = spec_raising(ValueError("secret-ish text: iban DE89370400440532013000"), "t.unexpected")
    with capture_logs() as logs:
        job, call = await harness(spec).run({}, retries=3)

    assert isinstance(call, Fail)
    assert "ValueError" in call.message
    assert "secret-ish" not in call.message and "DE89" not in call.message
    assert str(job.key) in call.message  # to grep the worker log
    assert "t.unexpected" in call.message
    assert call.retries == 2
    assert call.backoff_ms == spec.backoff_ms(3) == 1_000
    (line,) = [e for e in logs if e["event"] == "job_unexpected_error"]
    assert line["error_type"] == "ValueError" and isinstance(line["exc_info"], ValueError)  # frames, via exc_info
    assert "DE89" not in repr({k: v for k, v in line.items() if k != "exc_info"})


async def test_last_retry_says_no_retries_left() -> None:
    spec = spec_raising(TransientError("provider down"), "t.lastretry")
    before = jobs_metric("t.lastretry", "incident")
    _, call = await harness(spec).run({}, retries=1)

    assert isinstance(call, Fail)
    assert call.retries == 0
    assert "no retries left" in call.message
    assert "retrying" not in call.message
    assert jobs_metric("t.lastretry", "incident") == before + 1


async def test_unexpected_error_on_last_retry_says_no_retries_left() -> None:
    _, call = await harness(spec_raising(KeyError("employeeEmail"), "t.lastunexpected")).run({}, retries=1)
    assert isinstance(call, Fail)
    assert call.retries == 0
    assert call.message.startswith("unexpected KeyError")
    assert "no retries left" in call.message


async def test_rate_limit_on_last_retry_keeps_the_retry() -> None:
    h = harness(spec_raising(TransientError("rate limited", retry_after=3, spend_retry=False), "t.lastrate"))
    _, call = await h.run({}, retries=1)
    assert isinstance(call, Fail)
    assert call.retries == 1
    assert "retrying in 3s" in call.message


# -- the runtime's own reasons to fail --------------------------------------------------------------


def test_deadline_spends_a_retry_with_back_off_and_says_what_to_do() -> None:
    spec = spec_raising(RuntimeError(), "t.deadline", retries=3, backoff_base_ms=1_000)
    fail = runtime.on_deadline(spec, make_job("t.deadline", {}, retries=3), 10_000)
    assert (fail.retries, fail.backoff_ms, fail.outcome) == (2, 1_000, "timed_out")
    assert "did not finish within its job timeout (10s)" in fail.message
    assert "WORKER_JOB_TIMEOUT_MS" in fail.message
    last = runtime.on_deadline(spec, make_job("t.deadline", {}, retries=1), 10_000)
    assert (last.retries, last.outcome) == (0, "incident")


def test_hand_back_keeps_retries_and_never_raises_an_incident() -> None:
    fail = runtime.hand_back(make_job("t.back", {}, retries=2), 1_000)
    assert (fail.retries, fail.backoff_ms, fail.outcome) == (2, 1_000, "handed_back")


def test_too_large_is_an_incident_saying_by_how_much() -> None:
    fail = runtime.too_large(spec_raising(RuntimeError(), "t.large"), 5_000_000, 4_194_304)
    assert (fail.retries, fail.outcome) == (0, "too_large")
    assert "is 5000000 bytes, 805696 bytes over the gateway's message limit of 4194304 bytes" in fail.message
