"""workers.logs: secret redaction, job context on every line, and what ``configure`` does to stdlib loggers."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import structlog

from workers import logs
from workers.logs import REDACTED, SAFE_KEYS, job_context, redact_secrets

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ3b3JrZXJzIn0.c2lnbmF0dXJl"


def redact(**event: Any) -> dict[str, Any]:
    return dict(redact_secrets(None, "info", dict(event)))


# -- redact_secrets -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "client_secret",
        "access_token",
        "refresh_token",
        "Authorization",
        "authorization",
        "password",
        "api_key",
        "api-key",
        "apiKey",
        "x_signature",
        "webhook-signature",
        "Set-Cookie",
        "credentials",
    ],
)
def test_top_level_secret_keys_are_redacted(key: str) -> None:
    out = redact(event="calling provider", **{key: "s3cr3t-value"})
    assert out[key] == REDACTED
    assert out["event"] == "calling provider"


def test_non_secret_keys_are_kept() -> None:
    out = redact(event="job_started", job_key=123, element_id="Task_Generate", retries=3, url="http://x/y")
    assert out == {"event": "job_started", "job_key": 123, "element_id": "Task_Generate", "retries": 3, "url": "http://x/y"}


@pytest.mark.parametrize("key", sorted(SAFE_KEYS))
def test_safe_keys_are_kept_even_though_they_look_secret(key: str) -> None:
    out = redact(event="token_refreshed", **{key: "value-of-" + key})
    assert out[key] == "value-of-" + key


def test_safe_keys_are_kept_inside_nested_dicts_too() -> None:
    out = redact(event="x", cache={"token_expires_at": "2030-01-01T00:00:00Z", "access_token": TOKEN})
    assert out["cache"] == {"token_expires_at": "2030-01-01T00:00:00Z", "access_token": REDACTED}


def test_nested_dicts_and_lists_are_redacted() -> None:
    out = redact(
        event="http_call",
        request={
            "method": "POST",
            "headers": {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
            "form": [{"client_id": "workers", "client_secret": "form-secret"}, ("grant", {"password": "pw"})],
        },
    )
    req = out["request"]
    assert req["method"] == "POST"
    assert req["headers"] == {"Authorization": REDACTED, "Content-Type": "application/json"}
    assert req["form"][0] == {"client_id": "workers", "client_secret": REDACTED}
    assert isinstance(req["form"][1], tuple)  # container types are preserved
    assert req["form"][1] == ("grant", {"password": REDACTED})
    assert TOKEN not in repr(out) and "form-secret" not in repr(out) and "'pw'" not in repr(out)


def test_bearer_tokens_inside_strings_are_masked() -> None:
    out = redact(
        event=f"retrying with Authorization: Bearer {TOKEN}",
        detail=f"upstream said: bearer {TOKEN}== expired",
        lines=[f"Bearer {TOKEN}", "no token here"],
    )
    assert out["event"] == f"retrying with Authorization: Bearer {REDACTED}"
    assert out["detail"] == f"upstream said: bearer {REDACTED} expired"
    assert out["lines"] == [f"Bearer {REDACTED}", "no token here"]
    assert TOKEN not in repr(out)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail grace.hopper+hr@example.co.uk now", f"mail {REDACTED} now"),
        ("Authorization: Basic Y2xpZW50OnNlY3JldA==", f"Authorization: Basic {REDACTED}"),
        (f"token {TOKEN} seen", f"token {REDACTED} seen"),
        ("GET https://files.test/doc/1?expires=9&signature=abc done", f"GET https://files.test/doc/1?{REDACTED} done"),
        ("GET /v1/documents?idempotency_key=cw-1", f"GET /v1/documents?{REDACTED}"),
        ("pay to DE89 3704 0044 0532 0130 00 today", f"pay to {REDACTED} today"),
        ("pay to DE89370400440532013000", f"pay to {REDACTED}"),
        ("is this right? yes=no", "is this right? yes=no"),  # a question mark in prose is not a query
        ("job 2251799813685251 failed at Task_Generate", "job 2251799813685251 failed at Task_Generate"),
    ],
)
def test_credentials_emails_ibans_and_query_strings_in_strings_are_masked(text: str, expected: str) -> None:
    assert redact(event=text, detail=[text])["event"] == expected
    assert redact(event="x", detail=[text])["detail"] == [expected]


def test_non_string_values_pass_through() -> None:
    out = redact(event="x", count=3, ratio=0.5, flag=True, nothing=None)
    assert out == {"event": "x", "count": 3, "ratio": 0.5, "flag": True, "nothing": None}


# -- job_context ----------------------------------------------------------------------------------


@pytest.fixture
def collected() -> Any:
    """structlog configured with the project's shared processors and a list-collecting sink."""
    saved = structlog.get_config()
    lines: list[dict[str, Any]] = []

    def collect(_logger: Any, _method: str, event_dict: Any) -> Any:
        lines.append(dict(event_dict))
        raise structlog.DropEvent

    structlog.configure(
        processors=[*logs.shared_processors(), collect],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.clear_contextvars()
    yield lines
    structlog.contextvars.clear_contextvars()
    structlog.configure(**saved)


def test_job_context_fields_appear_in_log_lines_and_are_removed_after(collected: list[dict[str, Any]]) -> None:
    log = structlog.get_logger("workers.test")
    with job_context(process_instance_key=2251799813685251, job_key=2251799813685260, task_type="contract.ping"):
        log.info("inside", extra_field=1)
        with job_context(element_id="Task_Ping"):
            log.info("nested")
    log.info("outside")

    inside, nested, outside = collected
    assert inside["event"] == "inside"
    assert inside["process_instance_key"] == 2251799813685251
    assert inside["job_key"] == 2251799813685260
    assert inside["task_type"] == "contract.ping"
    assert inside["extra_field"] == 1
    assert nested["element_id"] == "Task_Ping" and nested["job_key"] == 2251799813685260
    for key in ("process_instance_key", "job_key", "task_type", "element_id"):
        assert key not in outside


def test_job_context_is_restored_when_the_body_raises(collected: list[dict[str, Any]]) -> None:
    log = structlog.get_logger("workers.test")
    with pytest.raises(RuntimeError):
        with job_context(job_key=1):
            raise RuntimeError("boom")
    log.info("after")
    assert "job_key" not in collected[-1]


def test_job_context_values_are_redacted_too(collected: list[dict[str, Any]]) -> None:
    with job_context(job_key=5, access_token=TOKEN):
        structlog.get_logger().info("x")
    assert collected[0]["job_key"] == 5
    assert collected[0]["access_token"] == REDACTED


# -- configure(): stdlib routing ------------------------------------------------------------------


@pytest.fixture
def restore_logging() -> Any:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    named = {n: logging.getLogger(n).level for n in ("pyzeebe", "httpx", "some.library")}
    saved_structlog = structlog.get_config()
    structlog.contextvars.clear_contextvars()
    yield
    structlog.contextvars.clear_contextvars()
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)
    for name, level in named.items():
        logging.getLogger(name).setLevel(level)
    structlog.configure(**saved_structlog)


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_pyzeebe_debug_goes_nowhere_even_at_debug_level(restore_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("DEBUG", json=True)
    # What pyzeebe's task_builder logs on a failed job: the whole job, with its variables.
    logging.getLogger("pyzeebe").debug("Failed job: %s", {"variables": {"employeeName": "Jane Personal"}})
    logging.getLogger("pyzeebe.task.task_builder").debug("Failed job: Jane Personal")
    # Our own debug lines do come out, so the level really is DEBUG.
    structlog.get_logger("workers.test").debug("our_debug_line")
    logging.getLogger("some.library").debug("their_debug_line")

    err = capsys.readouterr().err
    assert "Jane Personal" not in err
    events = [line["event"] for line in _json_lines(err)]
    assert events == ["our_debug_line", "their_debug_line"]
    assert logging.getLogger("pyzeebe").getEffectiveLevel() == logging.INFO


def test_pyzeebe_info_still_comes_through(restore_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("DEBUG", json=True)
    logging.getLogger("pyzeebe.worker").info("worker started")
    assert [line["event"] for line in _json_lines(capsys.readouterr().err)] == ["worker started"]


def test_pyzeebe_follows_a_stricter_level(restore_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("WARNING", json=True)
    logging.getLogger("pyzeebe").info("not shown")
    logging.getLogger("pyzeebe").warning("shown")
    assert [line["event"] for line in _json_lines(capsys.readouterr().err)] == ["shown"]


def test_httpx_request_lines_are_held_at_warning(restore_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("DEBUG", json=True)
    logging.getLogger("httpx").info('HTTP Request: GET https://files.example/doc?sig=CAPABILITY "HTTP/1.1 200 OK"')
    assert "CAPABILITY" not in capsys.readouterr().err


def test_stdlib_warning_renders_as_redacted_json(restore_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("INFO", json=True)
    logging.getLogger("some.library").warning("retrying with header Authorization: Bearer %s", TOKEN)

    err = capsys.readouterr().err
    assert TOKEN not in err
    (line,) = _json_lines(err)
    assert line["event"] == f"retrying with header Authorization: Bearer {REDACTED}"
    assert line["level"] == "warning"
    assert line["logger"] == "some.library"
    assert "timestamp" in line


def test_stdlib_exception_is_logged_without_its_message(restore_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("INFO", json=True)
    try:
        raise RuntimeError(f"401 for Bearer {TOKEN} and jane.doe@example.com")
    except RuntimeError:
        logging.getLogger("some.library").exception("call failed")

    err = capsys.readouterr().err
    assert TOKEN not in err and "jane.doe" not in err and "401 for" not in err
    (line,) = _json_lines(err)
    assert line["event"] == "call failed"
    assert line["exception"].splitlines()[-1] == "RuntimeError (message withheld)"
    assert "in test_stdlib_exception_is_logged_without_its_message" in line["exception"]


def test_structlog_lines_render_as_redacted_json_with_job_context(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.configure("INFO", json=True)
    log = structlog.get_logger("workers.tasks.get_token")
    with job_context(job_key=42, task_type="contract.get-token"):
        log.info("token_fetched", access_token=TOKEN, token_expires_at="2030-01-01T00:00:00Z")
        log.debug("below the level")

    err = capsys.readouterr().err
    assert TOKEN not in err
    (line,) = _json_lines(err)
    assert line["event"] == "token_fetched"
    assert line["access_token"] == REDACTED
    assert line["token_expires_at"] == "2030-01-01T00:00:00Z"
    assert line["job_key"] == 42 and line["task_type"] == "contract.get-token"
    assert line["logger"] == "workers.tasks.get_token"


def test_configure_twice_keeps_a_single_handler(restore_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("INFO", json=True)
    logs.configure("INFO", json=True)
    assert len(logging.getLogger().handlers) == 1
    logging.getLogger("some.library").warning("once")
    assert len(_json_lines(capsys.readouterr().err)) == 1
