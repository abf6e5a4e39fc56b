"""Logging: structlog, JSON when not on a TTY, a readable console on a TTY.

Behaviour is a chain of small processors:
* ``merge_contextvars`` — the job context (process_instance_key, job key, task type, element id,
  bpmn_process_id) bound by the task runtime around each job, so every line carries it;
* ``format_exc_safely`` (instead of structlog's ``format_exc_info``) — an exception is logged as its type
  and stack frames (file, line, function), chained causes and contexts too, but *not its message*: the
  text of an arbitrary exception can quote anything (an email, an IBAN, a pydantic error's input
  values). Only classes of ours declared safe (``workers.errors.SafeMessage``) show their message. The
  exception's text is also cut out of the log message itself (``logger.exception("failed: %s", exc)``,
  asyncio's "Task exception was never retrieved ... exception=ValueError('...')");
* ``redact_secrets`` — a last line of defence: values under secret-looking keys are replaced, and
  bearer and ``Basic`` credentials, JWTs, email addresses, IBANs and URL query strings inside strings
  are masked. Code must not log secrets or personal data in the first place.

The standard-library loggers (pyzeebe, uvicorn, httpx) go through the same chain. pyzeebe's DEBUG lines
print whole jobs *including their variables* (personal data), so its loggers are held at INFO or above
whatever our level is.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import structlog

from workers.errors import SafeMessage

SECRET_KEY_PATTERN = re.compile(
    r"(secret|password|passwd|token|authorization|api[_-]?key|signature|cookie|credential)", re.IGNORECASE
)
# Keys that contain a secret-looking word but only hold non-secret facts about one.
SAFE_KEYS = {"token_expires_at", "token_scopes", "token_cached", "request_sha256", "response_sha256"}
BEARER_PATTERN = re.compile(r"(Bearer\s+)[A-Za-z0-9\-._~+/]+=*", re.IGNORECASE)
BASIC_PATTERN = re.compile(r"(Basic\s+)[A-Za-z0-9+/]{4,}=*", re.IGNORECASE)
JWT_PATTERN = re.compile(r"\beyJ[A-Za-z0-9_\-]{2,}\.[A-Za-z0-9_\-]{2,}\.[A-Za-z0-9_\-]*")
EMAIL_PATTERN = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
IBAN_PATTERN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
# A query string (``?a=b...``) after a URL or a path: signed URLs carry their signature there.
QUERY_PATTERN = re.compile(r"(?<=[^\s?])\?(?=[^\s\"'<>#?]*=)[^\s\"'<>#]+")
REDACTED = "[redacted]"
_STRING_RULES = (
    (BEARER_PATTERN, r"\1" + REDACTED),
    (BASIC_PATTERN, r"\1" + REDACTED),
    (JWT_PATTERN, REDACTED),
    (EMAIL_PATTERN, REDACTED),
    (IBAN_PATTERN, REDACTED),
    (QUERY_PATTERN, "?" + REDACTED),
)

# Loggers whose DEBUG output contains job variables.
_NOISY_LOGGERS = ("pyzeebe",)


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: (REDACTED if _is_secret_key(k) else _redact_value(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_redact_value(v) for v in value)
    return value


def redact_text(text: str) -> str:
    for pattern, replacement in _STRING_RULES:
        text = pattern.sub(replacement, text)
    return text


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


# --- exceptions ------------------------------------------------------------------------------------

_MAX_FRAMES = 40
# Keys the chain itself adds (never exception text): left alone by the scrubbing.
_OWN_KEYS = frozenset({"timestamp", "level", "logger"})
_MAX_CHAIN = 8


def has_safe_message(exc: BaseException) -> bool:
    """Whether ``exc``'s message may be logged: its class inherits ``safe_message = True`` from a class
    of the ``workers`` package (``workers.errors.SafeMessage``), and no subclass turned it off."""
    for klass in type(exc).__mro__:
        if "safe_message" in klass.__dict__:
            return klass.__dict__["safe_message"] is True and klass.__module__.split(".")[0] == "workers"
    return False


def _type_name(exc: BaseException) -> str:
    cls = type(exc)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def _headline(exc: BaseException) -> str:
    name = _type_name(exc)
    if has_safe_message(exc):
        return f"{name}: {exc}"
    errors = getattr(exc, "errors", None)
    if callable(errors) and type(exc).__name__ == "ValidationError":  # pydantic: error kinds, no inputs
        try:
            kinds = sorted({str(e.get("type", "?")) for e in errors(include_input=False, include_url=False)})
            return f"{name} (message withheld; {exc.error_count()} error(s) of kind {', '.join(kinds)})"  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - an odd ValidationError lookalike: fall through
            pass
    return f"{name} (message withheld)"


def _frames(tb: TracebackType | None) -> list[str]:
    frames = traceback.StackSummary.extract(traceback.walk_tb(tb), lookup_lines=False, capture_locals=False)
    lines = [f'  File "{f.filename}", line {f.lineno}, in {f.name}' for f in frames]
    if len(lines) > _MAX_FRAMES:
        lines = [f"  ... {len(lines) - _MAX_FRAMES} frames omitted", *lines[-_MAX_FRAMES:]]
    return lines


def render_exception(exc: BaseException) -> str:
    """Like ``traceback.format_exception`` without any exception's message (unless ours and safe)."""
    out: list[str] = []
    seen: set[int] = set()

    def walk(e: BaseException, depth: int, indent: str) -> None:
        if id(e) in seen or depth > _MAX_CHAIN:
            return
        seen.add(id(e))
        if e.__cause__ is not None:
            walk(e.__cause__, depth + 1, indent)
            out.append(f"{indent}The above exception was the direct cause of the following exception:")
        elif e.__context__ is not None and not e.__suppress_context__:
            walk(e.__context__, depth + 1, indent)
            out.append(f"{indent}During handling of the above exception, another exception occurred:")
        out.append(f"{indent}Traceback (most recent call last):")
        out.extend(indent + line for line in _frames(e.__traceback__))
        out.append(indent + _headline(e))
        if isinstance(e, BaseExceptionGroup):
            for n, sub in enumerate(e.exceptions[:_MAX_CHAIN], 1):
                out.append(f"{indent}+-- sub-exception {n} of {len(e.exceptions)}:")
                walk(sub, depth + 1, indent + "  ")

    walk(exc, 0, "")
    return "\n".join(out)


def _chain(exc: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    todo = [exc]
    while todo and len(found) < 4 * _MAX_CHAIN:
        e = todo.pop()
        if any(e is f for f in found):
            continue
        found.append(e)
        todo.extend(x for x in (e.__cause__, e.__context__) if x is not None)
        if isinstance(e, BaseExceptionGroup):
            todo.extend(e.exceptions)
    return found


def _scrub(value: Any, texts: list[tuple[str, str]]) -> Any:
    if isinstance(value, str):
        for text, placeholder in texts:
            value = value.replace(text, placeholder)
        return value
    if isinstance(value, dict):
        return {k: _scrub(v, texts) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_scrub(v, texts) for v in value)
    return value


def _exc_info(value: Any) -> BaseException | None:
    if isinstance(value, BaseException):
        return value
    if isinstance(value, tuple) and len(value) == 3 and isinstance(value[1], BaseException):
        return value[1]
    if value is True or (value and not isinstance(value, tuple)):
        return sys.exc_info()[1]
    return None


def format_exc_safely(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Replace ``exc_info`` with an ``exception`` string (type and frames; see ``render_exception``), and
    cut every withheld exception's text out of the rest of the line."""
    if "exc_info" not in event_dict:
        return event_dict
    exc = _exc_info(event_dict.pop("exc_info"))
    if exc is None:
        return event_dict
    texts: list[tuple[str, str]] = []
    for e in _chain(exc):
        if has_safe_message(e):
            continue
        placeholder = f"<{type(e).__name__}: message withheld>"
        for text in (repr(e), str(e)):
            if len(text) >= 2 and text != type(e).__name__ + "()":
                texts.append((text, placeholder))
    texts.sort(key=lambda t: len(t[0]), reverse=True)  # repr before the str it contains
    if texts:
        for key in list(event_dict):
            if not key.startswith("_") and key not in _OWN_KEYS:
                event_dict[key] = _scrub(event_dict[key], texts)
    event_dict["exception"] = render_exception(exc)
    return event_dict


def shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        format_exc_safely,
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
