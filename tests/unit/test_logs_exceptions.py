"""workers.logs: exceptions are logged as type and frames, never their message (unless ours and safe),
through structlog and every stdlib logger routed through the same chain."""

from __future__ import annotations

import asyncio
import gc
import io
import json
import logging
from typing import Any

import pytest
import structlog
from pydantic import BaseModel, ValidationError

from workers import logs
from workers.errors import BusinessError, ContractDataInvalid, TransientError
from workers.providers.base import ProviderUnavailable

NATIONAL_ID = "756.1234.5678.97"
EMAIL = "jane.doe@example.com"
IBAN = "CH93 0076 2011 6238 5295 7"
SALARY = "98765"
SECRETS = (NATIONAL_ID, EMAIL, IBAN, SALARY, "jane.doe")


@pytest.fixture
def output() -> Any:
    """The project's logging set-up (``logs.configure``), writing into a buffer we read back."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    saved_structlog = structlog.get_config()
    logs.configure("INFO", json=True)
    buffer = io.StringIO()
    root.handlers[0].setStream(buffer)  # type: ignore[attr-defined]

    def lines() -> list[dict[str, Any]]:
        text = buffer.getvalue()
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} reached the log: {text}"
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    yield lines
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)
    structlog.configure(**saved_structlog)


def fail_with(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as caught:  # noqa: BLE001 - the point is to keep it
        return caught


class Payroll(BaseModel):
    salary: int
    national_id: int


def payroll_error() -> ValidationError:
    try:
        Payroll.model_validate({"salary": f"EUR {SALARY}", "national_id": NATIONAL_ID})
    except ValidationError as exc:
        return exc
    raise AssertionError("expected a ValidationError")


def test_structlog_exc_info_logs_type_and_frames_not_the_message(output) -> None:
    exc = fail_with(ValueError(f"cannot pay {EMAIL} to {IBAN}"))
    structlog.get_logger("workers.tasks.runtime").error("job_unexpected_error", exc_info=exc)
    (line,) = output()
    rendered = line["exception"].splitlines()
    assert rendered[0] == "Traceback (most recent call last):"
    assert rendered[1].startswith('  File "') and rendered[1].endswith(", in fail_with")
    assert rendered[-1] == "ValueError (message withheld)"
    assert "exc_info" not in line


def test_logger_exception_inside_except_block(output) -> None:
    try:
        raise KeyError(NATIONAL_ID)
    except KeyError:
        structlog.get_logger("workers.test").exception("lookup_failed")
    (line,) = output()
    assert line["exception"].splitlines()[-1] == "KeyError (message withheld)"


def test_chained_causes_and_contexts_are_withheld_too(output) -> None:
    try:
        try:
            raise ValueError(f"bad national id {NATIONAL_ID}")
        except ValueError as inner:
            raise RuntimeError(f"payroll for {EMAIL} failed") from inner
    except RuntimeError as outer:
        exc = outer
    try:
        try:
            raise LookupError(SALARY)
        except LookupError:
            raise OSError("while handling " + EMAIL)  # implicit context
    except OSError as implicit:
        context_exc = implicit
    log = structlog.get_logger("workers.test")
    log.error("failed", exc_info=exc)
    log.error("failed_again", exc_info=context_exc)
    first, second = output()
    assert "ValueError (message withheld)" in first["exception"]
    assert "The above exception was the direct cause of the following exception:" in first["exception"]
    assert first["exception"].splitlines()[-1] == "RuntimeError (message withheld)"
    assert "LookupError (message withheld)" in second["exception"]
    assert "During handling of the above exception, another exception occurred:" in second["exception"]


def test_pydantic_validation_error_input_values_never_appear(output) -> None:
    exc = payroll_error()
    assert SALARY in str(exc) and NATIONAL_ID in str(exc)  # what would have leaked
    structlog.get_logger("workers.test").error("validation_failed", exc_info=exc)
    logging.getLogger("some.library").error("validation failed: %s", exc, exc_info=exc)
    structured, stdlib = output()
    assert structured["exception"].splitlines()[-1] == (
        "pydantic_core._pydantic_core.ValidationError (message withheld; 2 error(s) of kind int_parsing)"
    )
    assert stdlib["event"] == "validation failed: <ValidationError: message withheld>"


def test_our_safe_errors_keep_their_message_and_it_is_still_redacted(output) -> None:
    log = structlog.get_logger("workers.test")
    log.error("a", exc_info=fail_with(TransientError("DMS unavailable: HTTP 503 on PUT /docs")))
    log.error("b", exc_info=fail_with(ContractDataInvalid("bad variables: employee.email", ["employee.email"])))
    log.error("c", exc_info=fail_with(ProviderUnavailable(f"provider down; mail {EMAIL}")))
    a, b, c = output()
    assert a["exception"].splitlines()[-1] == "workers.errors.TransientError: DMS unavailable: HTTP 503 on PUT /docs"
    assert b["exception"].splitlines()[-1].endswith("ContractDataInvalid: bad variables: employee.email")
    assert c["exception"].splitlines()[-1].endswith(f"ProviderUnavailable: provider down; mail {logs.REDACTED}")


def test_a_safe_error_shows_its_message_but_not_its_unsafe_cause(output) -> None:
    try:
        try:
            raise ValueError(f"row for {NATIONAL_ID}")
        except ValueError as inner:
            raise TransientError("DMS unavailable: HTTP 503") from inner
    except TransientError as outer:
        structlog.get_logger("workers.test").error("store_failed", exc_info=outer, detail=f"row for {NATIONAL_ID}")
    (line,) = output()
    assert line["detail"] == "<ValueError: message withheld>"  # its text was quoted elsewhere in the line
    assert "ValueError (message withheld)" in line["exception"]
    assert line["exception"].endswith("TransientError: DMS unavailable: HTTP 503")
    assert line["level"] == "error" and line["logger"] == "workers.test"


class NotOursButClaimsSafe(Exception):
    safe_message = True  # a class outside the workers package cannot declare itself safe


class OursButUnsafe(BusinessError):
    safe_message = False


def test_only_our_classes_can_be_declared_safe(output) -> None:
    assert not logs.has_safe_message(NotOursButClaimsSafe("x"))
    assert not logs.has_safe_message(OursButUnsafe("CODE", "x"))
    assert logs.has_safe_message(TransientError("x"))
    log = structlog.get_logger("workers.test")
    log.error("a", exc_info=fail_with(NotOursButClaimsSafe(NATIONAL_ID)))
    log.error("b", exc_info=fail_with(OursButUnsafe("CODE", SALARY)))
    a, b = output()
    assert a["exception"].endswith("NotOursButClaimsSafe (message withheld)")
    assert b["exception"].endswith("OursButUnsafe (message withheld)")


def test_exception_groups_render_every_member_without_messages(output) -> None:
    group = fail_with(ExceptionGroup("several", [fail_with(ValueError(EMAIL)), fail_with(TypeError(SALARY))]))
    structlog.get_logger("workers.test").error("many", exc_info=group)
    (line,) = output()
    text = line["exception"]
    assert "ExceptionGroup (message withheld)" in text
    assert "  ValueError (message withheld)" in text and "  TypeError (message withheld)" in text


def test_pyzeebe_and_uvicorn_lines_quoting_the_error_are_scrubbed(output) -> None:
    err = fail_with(RuntimeError(f"complete failed for {NATIONAL_ID}"))
    # pyzeebe/worker/job_executor.py: the error's text is part of the message itself
    logging.getLogger("pyzeebe.worker.job_executor").exception(
        "Error in job executor. Task: %s. Error: %s.", "contract.generate", err, exc_info=err
    )
    logging.getLogger("uvicorn.error").error("Exception in ASGI application\n", exc_info=err)
    pyzeebe_line, uvicorn_line = output()
    assert pyzeebe_line["event"] == (
        "Error in job executor. Task: contract.generate. Error: <RuntimeError: message withheld>."
    )
    assert pyzeebe_line["exception"].endswith("RuntimeError (message withheld)")
    assert uvicorn_line["logger"] == "uvicorn.error"
    assert uvicorn_line["exception"].endswith("RuntimeError (message withheld)")


async def test_asyncio_task_exception_never_retrieved(output) -> None:
    async def crash() -> None:
        raise ValueError(f"salary {SALARY} of {EMAIL}")

    task = asyncio.get_running_loop().create_task(crash())
    while not task.done():
        await asyncio.sleep(0)
    del task
    gc.collect()  # the task's __del__ reports the unretrieved exception through the 'asyncio' logger
    (line,) = [line for line in output() if line["logger"] == "asyncio"]
    assert line["event"].startswith("Task exception was never retrieved")
    assert "<ValueError: message withheld>" in line["event"]
    assert line["exception"].endswith("ValueError (message withheld)")


def test_console_renderer_shows_no_message_either(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved_handlers, saved_level, saved = root.handlers[:], root.level, structlog.get_config()
    try:
        logs.configure("INFO", json=False)
        structlog.get_logger("workers.test").error("boom", exc_info=fail_with(ValueError(EMAIL)))
        err = capsys.readouterr().err
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        structlog.configure(**saved)
    assert "ValueError (message withheld)" in err
    assert EMAIL not in err and "jane.doe" not in err
