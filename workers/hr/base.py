"""What the workers need from an HR system, independent of any one vendor's API.

Adapters (``bamboohr.py``) implement ``HrSystem``; tasks only see this module. ``HrRecord.fields`` uses
OUR normalized keys (see ``RECORD_KEYS``), not a vendor's field names, and every key is always present
(``None`` when the HR system has no value). Errors are mapped by the adapter onto the classes below so a
task can decide BPMN error vs. retry without knowing HTTP; their messages are built from status codes,
paths without query strings, our own ids and field names, never from a value found in a body.

Employee ids are checked against ``EMPLOYEE_ID`` before any request: an id that does not fit is reported
as ``EmployeeNotFound`` without calling out (an unchecked id never reaches a URL path), and it is not
repeated in the message (it may be anything, e.g. an e-mail address typed into the wrong field).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from workers.errors import SafeMessage

EMPLOYEE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Our normalized keys. ``homeAddress`` and ``birthDate`` are read for completeness only: nothing sends them
# anywhere (the PII allow-list of the DMS upload does not name them).
RECORD_KEYS = ("fullName", "email", "startDate", "jobTitle", "department", "homeAddress", "birthDate")


@dataclass(frozen=True)
class HrRecord:
    """One employee as the workers see it. ``repr`` names the keys that have a value, never the values
    (a record in a traceback or a log line must not leak a birth date)."""

    employee_id: str
    fields: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        present = ",".join(k for k, v in self.fields.items() if v is not None)
        return f"HrRecord(employee_id={self.employee_id!r}, fields with a value: {present or '(none)'})"

    def missing(self, *keys: str) -> list[str]:
        """The given keys that have no value (``None`` or blank), in the given order."""
        return [k for k in keys if _blank(self.fields.get(k))]


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class HrError(SafeMessage, Exception):
    """Base class; ``str(error)`` is operator-readable and free of secrets, personal data and body
    contents, so logs (and Operate) may show it."""


class HrUnavailable(HrError):
    """5xx, timeout, connection refused, an unexpected answer: retry with back-off."""


class HrRateLimited(HrError):
    """429 (or 503 with Retry-After): wait ``retry_after`` seconds; says nothing about the job itself."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class HrAuthError(HrError):
    """401/403: the API key is wrong, revoked or lacks access; needs an operator."""


class EmployeeNotFound(HrError):
    """404 on the employee, or an employee id that cannot be one (refused before any request)."""


class HrRejected(HrError):
    """400 on an update: a retry cannot help. ``fields`` holds field names only (identifier-like)."""

    def __init__(self, message: str, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.fields = list(fields or [])


def valid_employee_id(employee_id: object) -> bool:
    return isinstance(employee_id, str) and EMPLOYEE_ID.fullmatch(employee_id) is not None


def check_employee_id(employee_id: object, system: str = "HR system") -> str:
    """``employee_id`` when it fits ``EMPLOYEE_ID``; else ``EmployeeNotFound`` (the id is not repeated)."""
    if not valid_employee_id(employee_id):
        raise EmployeeNotFound(
            f"{system}: the employee id is not a valid id (1-64 letters, digits, '_' or '-'); no request was sent"
        )
    return employee_id  # type: ignore[return-value]


@runtime_checkable
class HrSystem(Protocol):
    name: str

    async def get_employee(self, employee_id: str) -> HrRecord:
        """The employee's record (normalized keys); ``EmployeeNotFound`` when there is none."""

    async def update_employee(self, employee_id: str, fields: dict[str, str]) -> None:
        """Set fields (vendor field names, custom fields included); idempotent: it sets values."""

    async def aclose(self) -> None: ...


__all__ = [
    "EMPLOYEE_ID",
    "EmployeeNotFound",
    "HrAuthError",
    "HrError",
    "HrRateLimited",
    "HrRecord",
    "HrRejected",
    "HrSystem",
    "HrUnavailable",
    "RECORD_KEYS",
    "check_employee_id",
    "valid_employee_id",
]
