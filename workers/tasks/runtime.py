"""How a task module becomes a pyzeebe task, and how its failures become Zeebe commands.

A task module declares one ``TaskSpec``: an input model, one async handler, an output model, and the
job settings we chose for it (we never rely on pyzeebe's defaults: 10 s job timeout, 32 parallel jobs,
no retry back-off, and an exception handler that logs the whole job *with its variables*).

Per job the runtime:
1. binds the job context to every log line;
2. validates the job's variables with the input model; a validation error becomes the task's BPMN error
   with a message that names the fields (never their values);
3. runs the handler; returns the output model as variables (camelCase, JSON);
4. maps exceptions: ``BusinessError`` -> ThrowError; ``TransientError`` -> FailJob with retries-1 (or
   unchanged for rate limits) and an exponential back-off; anything else -> FailJob with a generic
   message naming only the exception type (its text may carry data) and the job key to grep the logs.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import structlog
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel
from pyzeebe import Job, ZeebeTaskRouter

from workers.tasks import metrics
from workers.errors import BusinessError, ContractDataInvalid, TransientError
from workers.logs import job_context

log = structlog.get_logger(__name__)

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=BaseModel)


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
    def of(cls, job: Job) -> "JobInfo":
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
    max_running_jobs: int = 16
    retries: int = 3
    # Exponential back-off between retries: base * 2^(attempt-1), capped.
    backoff_base_ms: int = 1_000
    backoff_max_ms: int = 60_000
    extra_variables: tuple[str, ...] = field(default_factory=tuple)

    def variable_names(self) -> list[str]:
        names = [f.alias or n for n, f in self.input_model.model_fields.items()]
        return names + list(self.extra_variables)

    def backoff_ms(self, retries_left: int) -> int:
        attempt = max(1, self.retries - retries_left + 1)
        return min(self.backoff_max_ms, self.backoff_base_ms * 2 ** (attempt - 1))


def describe_validation(error: ValidationError) -> tuple[str, list[str]]:
    """'employee.email: value is not a valid email address; ...' — locations and reasons, no values."""
    parts, fields = [], []
    for item in error.errors(include_input=False, include_url=False):
        loc = ".".join(str(p) for p in item["loc"]) or "(root)"
        fields.append(loc)
        parts.append(f"{loc}: {item['msg'].lower()}")
    return "; ".join(parts), fields


class FailJob(Exception):
    """Raised inside the runtime to carry the FailJob decision to the exception handler."""


def register(router: ZeebeTaskRouter, spec: TaskSpec[Any, Any], deps: Any, adapter_ref: Callable[[], Any]) -> None:
    """Register ``spec`` on ``router``. ``adapter_ref`` returns the worker's ZeebeAdapter (set after start)."""

    async def on_exception(exc: Exception, job: Job, controller: Any) -> None:
        adapter = adapter_ref()
        started = getattr(exc, "_started", None)
        with job_context(**_context(job)):
            if isinstance(exc, BusinessError):
                log.warning("job_bpmn_error", error_code=exc.code, error_message=exc.message)
                metrics.JOBS.labels(spec.type, "bpmn_error").inc()
                variables: dict[str, Any] = {
                    "contractError": {
                        "code": exc.code,
                        "message": exc.message,
                        "fields": getattr(exc, "fields", []),
                        "elementId": job.element_id,
                    }
                }
                await controller.set_error_status(exc.message, error_code=exc.code, variables=variables)
                return
            if isinstance(exc, TransientError):
                retries = job.retries - 1 if exc.spend_retry else job.retries
                backoff = int(exc.retry_after * 1000) if exc.retry_after is not None else spec.backoff_ms(job.retries)
                message = exc.message
            else:
                retries = job.retries - 1
                backoff = spec.backoff_ms(job.retries)
                message = (
                    f"unexpected {type(exc).__name__} in {spec.type}; see the worker log for job key {job.key}"
                )
                log.error("job_unexpected_error", exc_info=exc)
            retries = max(retries, 0)
            if retries == 0:
                message = f"{message} (no retries left: fix the cause, then update the job's retries)"
            else:
                message = f"{message} (retrying in {backoff / 1000:.0f}s, {retries} retries left)"
            log.warning("job_failed", error=message, retries_left=retries, backoff_ms=backoff,
                        elapsed_ms=_elapsed(started))  # fmt: skip
            metrics.JOBS.labels(spec.type, "failed" if retries else "incident").inc()
            await adapter.fail_job(
                job_key=job.key, retries=retries, message=message, retry_back_off_ms=backoff, variables={}
            )

    async def run(job: Job, **_fetched: Any) -> dict[str, Any]:
        started = time.monotonic()
        with job_context(**_context(job)):
            log.info("job_started", retries=job.retries)
            try:
                try:
                    data = spec.input_model.model_validate(job.variables)
                except ValidationError as exc:
                    detail, fields = describe_validation(exc)
                    raise ContractDataInvalid(f"invalid process variables for {spec.type}: {detail}", fields) from None
                result = await spec.handler(data, JobInfo.of(job), deps)
            except Exception as exc:
                exc._started = started  # type: ignore[attr-defined]
                raise
            out = result.model_dump(mode="json", by_alias=True)
            metrics.JOBS.labels(spec.type, "completed").inc()
            metrics.JOB_SECONDS.labels(spec.type).observe(time.monotonic() - started)
            log.info("job_completed", elapsed_ms=_elapsed(started))
            return out

    run.__name__ = spec.type.replace(".", "_").replace("-", "_")
    # pyzeebe finds the Job parameter by comparing annotations to the class; with postponed
    # annotations they are strings, so give it a real signature.
    run.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("job", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Job),
            inspect.Parameter("_fetched", inspect.Parameter.VAR_KEYWORD),
        ]
    )
    router.task(
        task_type=spec.type,
        exception_handler=on_exception,
        # Fetch only what the input model reads (an empty list would mean "all variables", PII included).
        variables_to_fetch=spec.variable_names() or ["__fetch_no_variables__"],
        timeout_ms=spec.timeout_ms,
        max_jobs_to_activate=spec.max_running_jobs,
        max_running_jobs=spec.max_running_jobs,
    )(run)


def _elapsed(started: float | None) -> int | None:
    return None if started is None else int((time.monotonic() - started) * 1000)


def _context(job: Job) -> dict[str, Any]:
    return {
        "process_instance_key": job.process_instance_key,
        "job_key": job.key,
        "task_type": job.type,
        "element_id": job.element_id,
        "bpmn_process_id": job.bpmn_process_id,
    }
