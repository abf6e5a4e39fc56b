"""Logging: structlog, JSON when not on a TTY, a readable console on a TTY.

Behaviour is a chain of small processors:
* ``merge_contextvars`` — the job context (process_instance_key, job key, task type, element id,
  bpmn_process_id) bound by the task runtime around each job, so every line carries it;
* ``redact_secrets`` — a last line of defence: values under secret-looking keys are replaced, and
  bearer tokens inside strings are masked. Code must not log secrets in the first place.

The standard-library loggers (pyzeebe, uvicorn, httpx) go through the same chain. pyzeebe's DEBUG lines
print whole jobs *including their variables* (personal data), so its loggers are held at INFO or above
whatever our level is.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import structlog

SECRET_KEY_PATTERN = re.compile(
    r"(secret|password|passwd|token|authorization|api[_-]?key|signature|cookie|credential)", re.IGNORECASE
)
# Keys that contain a secret-looking word but only hold non-secret facts about one.
SAFE_KEYS = {"token_expires_at", "token_scopes", "token_cached", "request_sha256", "response_sha256"}
BEARER_PATTERN = re.compile(r"(Bearer\s+)[A-Za-z0-9\-._~+/]+=*", re.IGNORECASE)
REDACTED = "[redacted]"

# Loggers whose DEBUG output contains job variables.
_NOISY_LOGGERS = ("pyzeebe",)


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return BEARER_PATTERN.sub(r"\1" + REDACTED, value)
    if isinstance(value, dict):
        return {k: (REDACTED if _is_secret_key(k) else _redact_value(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_redact_value(v) for v in value)
    return value


def _is_secret_key(key: object) -> bool:
    return isinstance(key, str) and key not in SAFE_KEYS and bool(SECRET_KEY_PATTERN.search(key))


def redact_secrets(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key == "event":
            event_dict[key] = _redact_value(event_dict[key])
        elif _is_secret_key(key):
            event_dict[key] = REDACTED
        else:
            event_dict[key] = _redact_value(event_dict[key])
    return event_dict


def shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact_secrets,
    ]


def configure(level: str = "INFO", json: bool | None = None) -> None:
    """Set up structlog and route stdlib logging through it. Safe to call more than once."""
    if json is None:
        json = not sys.stderr.isatty()
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    numeric = logging.getLevelName(level.upper()) if isinstance(level, str) else level

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared_processors(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared_processors(),
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(max(numeric, logging.INFO))
    # httpx logs every request line with its full URL (signed download URLs carry signatures);
    # our audit transport logs the calls instead.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("fontTools").setLevel(logging.WARNING)  # fpdf2 font subsetting chatter


@contextmanager
def job_context(**fields: Any) -> Iterator[None]:
    with structlog.contextvars.bound_contextvars(**fields):
        yield
