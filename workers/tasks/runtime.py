"""What a task is (``TaskSpec``), and how a handler's outcome becomes a Zeebe command.

A task module declares one ``TaskSpec``: an input model, one async handler, an output model, and the
job settings we chose for it. The job runtime (``workers.jobs``) activates, bounds and sends; this module
decides *what* to send:

1. ``run_handler``: validates the job's variables with the input model (a validation error becomes the
   task's BPMN error naming the fields, never their values), runs the handler, returns ``Complete`` with
   the output model as variables (camelCase, JSON);
2. ``on_exception``: ``BusinessError`` -> ``Throw`` (details in the ``contractError`` variable);
   ``TransientError`` -> ``Fail`` with retries-1 (or unchanged for rate limits) and a back-off; anything
   else -> ``Fail`` with a message naming only the exception type (its text may carry data);
3. ``on_deadline`` / ``hand_back`` / ``too_large``: the runtime's own reasons to fail a job;
4. ``report``: the ``job_completed`` / ``job_failed`` / ``job_bpmn_error`` line and the metrics, called
   only once Zeebe acknowledged the command.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import structlog
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel
from pyzeebe.proto.gateway_pb2 import CompleteJobRequest, FailJobRequest, ThrowErrorRequest

from workers.errors import BusinessError, ContractDataInvalid, TransientError
from workers.tasks import metrics

log = structlog.get_logger(__name__)

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=BaseModel)

# Zeebe reads an empty fetch list as "all variables" (personal data included): ask for a name that is
# never set instead.
FETCH_NOTHING = "__fetch_no_variables__"


class TaskModel(BaseModel):
    """Base for task inputs/outputs: camelCase process variables, snake_case Python."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)


@dataclass(frozen=True)
class JobInfo:
    """What a handler may know about its job (no variables: those come typed, via the input model)."""

    key: int
    process_instance_key: int
    bpmn_process_id: str
    element_id: str
    retries: int
    deadline_ms: int

    @classmethod
    def of(cls, job: Any) -> "JobInfo":
        return cls(job.key, job.process_instance_key, job.bpmn_process_id, job.element_id, job.retries, job.deadline)

    def seconds_left(self) -> float:
        return self.deadline_ms / 1000 - time.time()


@dataclass(frozen=True)
class TaskSpec(Generic[In, Out]):
    type: str
    name: str
    description: str
    input_model: type[In]
    output_model: type[Out]
    handler: Callable[[In, JobInfo, Any], Awaitable[Out]]
    # BPMN error codes the task can throw (documented in the element template).
    error_codes: tuple[str, ...] = (ContractDataInvalid.CODE,)
    timeout_ms: int = 30_000
    # Handlers of this type running at once in one worker (polling and streaming together).
    max_running_jobs: int = 16
    retries: int = 3
    # Exponential back-off between retries: base * 2^(attempt-1), capped.
    backoff_base_ms: int = 1_000
    backoff_max_ms: int = 60_000
    extra_variables: tuple[str, ...] = field(default_factory=tuple)
    # Extend the job's timeout while the handler runs (UpdateJobTimeout every timeout/3); a handler
    # whose job is gone (NOT_FOUND) is cancelled.
    heartbeat: bool = False

    def variable_names(self) -> list[str]:
        names = [f.alias or n for n, f in self.input_model.model_fields.items()]
        return names + list(self.extra_variables)

    def fetch_variables(self) -> list[str]:
        return self.variable_names() or [FETCH_NOTHING]

    def backoff_ms(self, retries_left: int) -> int:
        attempt = max(1, self.retries - retries_left + 1)
        return min(self.backoff_max_ms, self.backoff_base_ms * 2 ** (attempt - 1))


# -- commands ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Complete:
    variables: dict[str, Any]


@dataclass(frozen=True)
class Throw:
    code: str
    message: str
    variables: dict[str, Any]


@dataclass(frozen=True)
class Fail:
    retries: int
    message: str
    backoff_ms: int
    # What it means, for the log and the metric: failed | incident | timed_out | handed_back | too_large
    outcome: str


Command = Complete | Throw | Fail


def describe_validation(error: ValidationError) -> tuple[str, list[str]]:
    """'employee.email: value is not a valid email address; ...' — locations and reasons, no values."""
    parts, fields = [], []
    for item in error.errors(include_input=False, include_url=False):
        loc = ".".join(str(p) for p in item["loc"]) or "(root)"
        fields.append(loc)
        parts.append(f"{loc}: {item['msg'].lower()}")
    return "; ".join(parts), fields


async def run_handler(spec: TaskSpec[Any, Any], job: Any, deps: Any) -> Complete:
    try:
        data = spec.input_model.model_validate(dict(job.variables))
    except ValidationError as exc:
        detail, fields = describe_validation(exc)
        raise ContractDataInvalid(f"invalid process variables for {spec.type}: {detail}", fields) from None
    result = await spec.handler(data, JobInfo.of(job), deps)
    return Complete(result.model_dump(mode="json", by_alias=True))


async def decide(spec: TaskSpec[Any, Any], job: Any, deps: Any) -> Command:
    """run_handler, with its exception mapped (what the executor does, minus deadlines)."""
    try:
        return await run_handler(spec, job, deps)
    except Exception as exc:
        return on_exception(spec, job, exc)


def on_exception(spec: TaskSpec[Any, Any], job: Any, exc: Exception) -> Throw | Fail:
    if isinstance(exc, BusinessError):
        variables = {
            "contractError": {
                "code": exc.code,
                "message": exc.message,
                "fields": getattr(exc, "fields", []),
                "elementId": job.element_id,
            }
        }
        return Throw(exc.code, exc.message, variables)
    if isinstance(exc, TransientError):
        retries = job.retries - 1 if exc.spend_retry else job.retries
        backoff = int(exc.retry_after * 1000) if exc.retry_after is not None else spec.backoff_ms(job.retries)
        return _fail(exc.message, retries, backoff)
    log.error("job_unexpected_error", error_type=type(exc).__name__, exc_info=exc)
    message = f"unexpected {type(exc).__name__} in {spec.type}; see the worker log for job key {job.key}"
    return _fail(message, job.retries - 1, spec.backoff_ms(job.retries))


def on_deadline(spec: TaskSpec[Any, Any], job: Any, timeout_ms: int) -> Fail:
    message = (f"{spec.type} did not finish within its job timeout ({timeout_ms / 1000:g}s) and was stopped; "
               "raise the timeout for this task type (WORKER_JOB_TIMEOUT_MS) if it needs longer")  # fmt: skip
    fail = _fail(message, job.retries - 1, spec.backoff_ms(job.retries))
    return Fail(fail.retries, fail.message, fail.backoff_ms, "timed_out" if fail.retries else "incident")


def hand_back(job: Any, backoff_ms: int) -> Fail:
    """Shutdown: give the job back untouched (same retries, short back-off; never an incident)."""
    return Fail(max(job.retries, 1), "the worker stopped before the job finished; handed back with its retries "
                "unchanged", backoff_ms, "handed_back")  # fmt: skip


def too_large(spec: TaskSpec[Any, Any], size: int, limit: int) -> Fail:
    message = (f"the output of {spec.type} is {size} bytes, {size - limit} bytes over the gateway's message "
               f"limit of {limit} bytes (WORKER_MAX_MESSAGE_BYTES); the output must be made smaller "
               "(no retry can fix it)")  # fmt: skip
    return Fail(0, message, 0, "too_large")


def _fail(message: str, retries: int, backoff_ms: int) -> Fail:
    retries = max(retries, 0)
    if retries == 0:
        return Fail(0, f"{message} (no retries left: fix the cause, then update the job's retries)", backoff_ms,
                    "incident")  # fmt: skip
    return Fail(retries, f"{message} (retrying in {backoff_ms / 1000:.0f}s, {retries} retries left)", backoff_ms,
                "failed")  # fmt: skip


def to_request(job_key: int, command: Command) -> CompleteJobRequest | ThrowErrorRequest | FailJobRequest:
    if isinstance(command, Complete):
        return CompleteJobRequest(jobKey=job_key, variables=json.dumps(command.variables))
    if isinstance(command, Throw):
        return ThrowErrorRequest(jobKey=job_key, errorCode=command.code, errorMessage=command.message,
                                 variables=json.dumps(command.variables))  # fmt: skip
    return FailJobRequest(jobKey=job_key, retries=command.retries, errorMessage=command.message,
                          retryBackOff=command.backoff_ms, variables="{}")  # fmt: skip


def report(spec: TaskSpec[Any, Any], command: Command, acked: bool, elapsed_s: float) -> None:
    """Log and count an outcome Zeebe acknowledged (``acked``), or that it was superseded."""
    elapsed_ms = int(elapsed_s * 1000)
    if not acked:
        log.debug("job_superseded", elapsed_ms=elapsed_ms)
        metrics.JOBS.labels(spec.type, "superseded").inc()
        return
    if isinstance(command, Complete):
        log.info("job_completed", elapsed_ms=elapsed_ms)
        metrics.JOBS.labels(spec.type, "completed").inc()
        metrics.JOB_SECONDS.labels(spec.type).observe(elapsed_s)
    elif isinstance(command, Throw):
        log.warning("job_bpmn_error", error_code=command.code, error_message=command.message, elapsed_ms=elapsed_ms)
        metrics.JOBS.labels(spec.type, "bpmn_error").inc()
    else:
        log.warning("job_failed", error=command.message, outcome=command.outcome, retries_left=command.retries,
                    backoff_ms=command.backoff_ms, elapsed_ms=elapsed_ms)  # fmt: skip
        metrics.JOBS.labels(spec.type, command.outcome).inc()
