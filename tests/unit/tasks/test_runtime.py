"""workers.tasks.runtime: TaskSpec, validation messages, and register() driven end to end without an engine.

The pyzeebe task that ``register`` builds is run through pyzeebe's own job handler with a real ``Job``, a
fake ``JobController`` (records complete / throw-error / fail calls) and a fake adapter (records the
``fail_job`` calls our exception handler makes directly).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pytest
from prometheus_client import REGISTRY
from pydantic import ValidationError
from pyzeebe import Job, ZeebeTaskRouter

from workers import __version__
from workers.errors import BusinessError, ContractDataInvalid, TransientError
from workers.tasks import ping
from workers.tasks.runtime import JobInfo, TaskModel, TaskSpec, describe_validation, register

# -- fakes ----------------------------------------------------------------------------------------


@dataclass
class FakeAdapter:
    fail_calls: list[dict[str, Any]] = field(default_factory=list)

    async def fail_job(self, **kwargs: Any) -> None:
        self.fail_calls.append(kwargs)


@dataclass
class FakeController:
    success: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    after_decorators: int = 0

    async def set_running_after_decorators_status(self) -> None:
        self.after_decorators += 1

    async def set_success_status(self, variables: dict[str, Any] | None = None) -> None:
        self.success.append({"variables": variables})

    async def set_error_status(self, message: str, error_code: str = "", variables: dict[str, Any] | None = None) -> None:
        self.errors.append({"message": message, "error_code": error_code, "variables": variables})

    async def set_failure_status(
        self, message: str, retry_back_off_ms: int = 0, variables: dict[str, Any] | None = None
    ) -> None:
        self.failures.append({"message": message, "retry_back_off_ms": retry_back_off_ms, "variables": variables})


JOB_KEY = 2251799813685301
PI_KEY = 2251799813685290


def make_job(task_type: str, variables: dict[str, Any], retries: int = 3) -> Job:
    return Job(
        key=JOB_KEY,
        type=task_type,
        process_instance_key=PI_KEY,
        bpmn_process_id="contract-flow",
        process_definition_version=4,
        process_definition_key=2251799813685249,
        element_id="Task_Under_Test",
        element_instance_key=2251799813685299,
        custom_headers={},
        worker="unit-test-worker",
        retries=retries,
        deadline=int((time.time() + 30) * 1000),
        variables=variables,
    )


@dataclass
class Harness:
    spec: TaskSpec[Any, Any]
    adapter: FakeAdapter
    router: ZeebeTaskRouter

    async def run(self, variables: dict[str, Any], retries: int = 3) -> tuple[Job, FakeController]:
        job = make_job(self.spec.type, variables, retries)
        controller = FakeController()
        await self.router.tasks[0].job_handler(job, controller)
        return job, controller


def harness(spec: TaskSpec[Any, Any], deps: Any = None) -> Harness:
    router = ZeebeTaskRouter()
    adapter = FakeAdapter()
    register(router, spec, deps, lambda: adapter)
    assert len(router.tasks) == 1
    return Harness(spec, adapter, router)


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


# -- register(): the ping task end to end ---------------------------------------------------------


def test_register_configures_the_pyzeebe_task() -> None:
    h = harness(ping.SPEC)
    task = h.router.tasks[0]
    assert task.type == "contract.ping"
    assert list(task.config.variables_to_fetch) == ["message"]
    assert task.config.timeout_ms == ping.SPEC.timeout_ms == 10_000
    assert task.config.max_running_jobs == ping.SPEC.max_running_jobs
    assert task.config.max_jobs_to_activate == ping.SPEC.max_running_jobs
    assert task.config.job_parameter_name == "job"


def test_spec_without_inputs_does_not_fetch_all_variables() -> None:
    h = harness(spec_raising(RuntimeError(), "t.noinput"))
    # An empty list would mean "all variables" (personal data included) to Zeebe.
    assert list(h.router.tasks[0].config.variables_to_fetch) == ["__fetch_no_variables__"]


async def test_ping_success_returns_camel_case_output() -> None:
    h = harness(ping.SPEC)
    before = jobs_metric("contract.ping", "completed")
    _, controller = await h.run({"message": "hello", "employeeName": "not fetched"})

    assert controller.errors == [] and controller.failures == [] and h.adapter.fail_calls == []
    (call,) = controller.success
    out = call["variables"]
    assert set(out) == {"pong", "answeredBy", "workerVersion", "answeredAt"}
    assert out["pong"] == "olleh"
    assert out["workerVersion"] == __version__
    assert isinstance(out["answeredAt"], str)  # JSON mode: a string, not a datetime
    datetime.fromisoformat(out["answeredAt"])
    assert jobs_metric("contract.ping", "completed") == before + 1


async def test_ping_default_message_when_variable_absent() -> None:
    h = harness(ping.SPEC)
    _, controller = await h.run({})
    assert controller.success[0]["variables"]["pong"] == "gnip"


async def test_blank_message_is_a_bpmn_error() -> None:
    h = harness(ping.SPEC)
    before = jobs_metric("contract.ping", "bpmn_error")
    _, controller = await h.run({"message": "   "})

    assert controller.success == [] and h.adapter.fail_calls == [] and controller.failures == []
    (err,) = controller.errors
    assert err["error_code"] == "CONTRACT_DATA_INVALID"
    assert err["message"] == "ping message must not be blank"
    assert err["variables"] == {
        "contractError": {
            "code": "CONTRACT_DATA_INVALID",
            "message": "ping message must not be blank",
            "fields": ["message"],
            "elementId": "Task_Under_Test",
        }
    }
    assert jobs_metric("contract.ping", "bpmn_error") == before + 1


@pytest.mark.parametrize("bad", [123, ["hello", SECRET_LOOKING], {"text": SECRET_LOOKING}])
async def test_invalid_type_is_a_bpmn_error_naming_the_field(bad: Any) -> None:
    h = harness(ping.SPEC)
    _, controller = await h.run({"message": bad})

    assert controller.success == [] and h.adapter.fail_calls == []
    (err,) = controller.errors
    assert err["error_code"] == ContractDataInvalid.CODE
    assert "contract.ping" in err["message"]
    assert "message: " in err["message"]
    assert SECRET_LOOKING not in err["message"]
    assert SECRET_LOOKING not in repr(err["variables"])
    assert err["variables"]["contractError"]["fields"] == ["message"]


async def test_other_business_error_keeps_its_code() -> None:
    h = harness(spec_raising(BusinessError("TEMPLATE_UNKNOWN", "template nda-999 is not known"), "t.business"))
    _, controller = await h.run({})
    (err,) = controller.errors
    assert err["error_code"] == "TEMPLATE_UNKNOWN"
    assert err["variables"]["contractError"]["fields"] == []
    assert err["variables"]["contractError"]["code"] == "TEMPLATE_UNKNOWN"


async def test_handler_receives_typed_input_job_info_and_deps() -> None:
    seen: dict[str, Any] = {}

    class In(TaskModel):
        template_id: str

    async def handler(data: In, job: JobInfo, deps: Any) -> Done:
        seen.update(data=data, job=job, deps=deps)
        return Done(done_at_step=7)

    spec = TaskSpec(type="t.seen", name="n", description="d", input_model=In, output_model=Done, handler=handler)
    deps = object()
    h = harness(spec, deps)
    job, controller = await h.run({"templateId": "nda-001"}, retries=2)

    assert controller.success == [{"variables": {"doneAtStep": 7}}]
    assert seen["data"] == In(template_id="nda-001")
    assert seen["deps"] is deps
    info: JobInfo = seen["job"]
    assert (info.key, info.process_instance_key, info.retries) == (JOB_KEY, PI_KEY, 2)
    assert (info.bpmn_process_id, info.element_id) == ("contract-flow", "Task_Under_Test")
    assert info.deadline_ms == job.deadline
    assert 25 < info.seconds_left() <= 30


# -- register(): failures -------------------------------------------------------------------------


async def test_transient_error_fails_job_with_one_retry_spent_and_backoff() -> None:
    spec = spec_raising(TransientError("provider down", retry_after=None), "t.transient", retries=3)
    h = harness(spec)
    before = jobs_metric("t.transient", "failed")
    job, controller = await h.run({}, retries=2)

    assert controller.success == [] and controller.errors == []
    assert controller.failures == []  # the controller would spend a second retry
    (call,) = h.adapter.fail_calls
    assert call["job_key"] == job.key
    assert call["retries"] == job.retries - 1 == 1
    assert call["retry_back_off_ms"] == spec.backoff_ms(job.retries) == 2_000
    assert call["variables"] == {}
    assert call["message"].startswith("provider down")
    assert "retrying" in call["message"]
    assert "retrying in 2s, 1 retries left" in call["message"]
    assert jobs_metric("t.transient", "failed") == before + 1


async def test_rate_limit_keeps_retries_and_uses_retry_after() -> None:
    spec = spec_raising(TransientError("provider rate limit", retry_after=7, spend_retry=False), "t.ratelimit")
    h = harness(spec)
    job, _ = await h.run({}, retries=3)

    (call,) = h.adapter.fail_calls
    assert call["retries"] == job.retries == 3
    assert call["retry_back_off_ms"] == 7_000
    assert "retrying in 7s" in call["message"]


async def test_fractional_retry_after_is_converted_to_ms() -> None:
    h = harness(spec_raising(TransientError("slow down", retry_after=1.5), "t.fraction"))
    await h.run({}, retries=3)
    assert h.adapter.fail_calls[0]["retry_back_off_ms"] == 1_500


async def test_unexpected_exception_message_names_only_its_type() -> None:
    spec = spec_raising(ValueError("secret-ish text: iban DE89370400440532013000"), "t.unexpected")
    h = harness(spec)
    job, controller = await h.run({}, retries=3)

    assert controller.errors == [] and controller.success == []
    (call,) = h.adapter.fail_calls
    message = call["message"]
    assert "ValueError" in message
    assert "secret-ish" not in message and "DE89" not in message
    assert str(job.key) in message  # to grep the worker log
    assert "t.unexpected" in message
    assert call["retries"] == 2
    assert call["retry_back_off_ms"] == spec.backoff_ms(3) == 1_000


async def test_last_retry_says_no_retries_left() -> None:
    spec = spec_raising(TransientError("provider down"), "t.lastretry")
    h = harness(spec)
    before = jobs_metric("t.lastretry", "incident")
    await h.run({}, retries=1)

    (call,) = h.adapter.fail_calls
    assert call["retries"] == 0
    assert "no retries left" in call["message"]
    assert "retrying" not in call["message"]
    assert jobs_metric("t.lastretry", "incident") == before + 1


async def test_unexpected_error_on_last_retry_says_no_retries_left() -> None:
    h = harness(spec_raising(KeyError("employeeEmail"), "t.lastunexpected"))
    await h.run({}, retries=1)
    (call,) = h.adapter.fail_calls
    assert call["retries"] == 0
    assert call["message"].startswith("unexpected KeyError")
    assert "no retries left" in call["message"]


async def test_rate_limit_on_last_retry_keeps_the_retry() -> None:
    h = harness(spec_raising(TransientError("rate limited", retry_after=3, spend_retry=False), "t.lastrate"))
    await h.run({}, retries=1)
    (call,) = h.adapter.fail_calls
    assert call["retries"] == 1
    assert "retrying in 3s" in call["message"]
