"""In-memory state of the BambooHR sandbox: employees, the update log, fault knobs and counters.

Everything a test may want to steer or inspect lives on ``HrSandboxState``; the ``/_sandbox/`` control
endpoints are a thin layer over the same methods. Employees are stored under BambooHR's field names, all
values strings. The seeded people are fictional (``example.com`` addresses, SSNs in the never-issued
000 area).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from workers.sandbox.state import _count, _flag, _number

# Standard BambooHR field names the sandbox knows (a subset); any name starting with "custom" is accepted
# as a custom field. Others are refused with 400, as BambooHR refuses fields it does not have.
KNOWN_FIELDS = frozenset({
    "firstName", "lastName", "preferredName", "middleName", "displayName", "workEmail", "homeEmail",
    "hireDate", "originalHireDate", "terminationDate", "jobTitle", "department", "division", "location",
    "employmentHistoryStatus", "status", "employeeNumber", "supervisor", "workPhone", "mobilePhone",
    "address1", "address2", "city", "state", "zipcode", "country", "dateOfBirth", "ssn", "gender",
})  # fmt: skip
DATE_FIELDS = frozenset({"hireDate", "originalHireDate", "terminationDate", "dateOfBirth"})
EMPTY_DATE = "0000-00-00"

SEED_EMPLOYEES: dict[str, dict[str, str]] = {
    # Complete.
    "101": {
        "firstName": "Maren", "lastName": "Holt", "workEmail": "maren.holt@example.com",
        "hireDate": "2026-03-02", "jobTitle": "Software Engineer", "department": "Engineering",
        "address1": "12 Harbour Lane", "city": "Port Elsby", "dateOfBirth": "1991-04-17", "ssn": "000-01-0101",
    },
    # Complete, with a preferred name.
    "102": {
        "firstName": "Jonathan", "preferredName": "Jon", "lastName": "Okafor",
        "workEmail": "jon.okafor@example.com", "hireDate": "2026-04-01", "jobTitle": "Account Executive",
        "department": "Sales", "address1": "4 Mill Road", "city": "Brackenfield", "dateOfBirth": "1987-11-03",
        "ssn": "000-01-0102",
    },
    # No work e-mail: not enough for an NDA.
    "103": {
        "firstName": "Priya", "lastName": "Raman", "hireDate": "2026-03-16", "jobTitle": "Data Analyst",
        "department": "Finance", "address1": "88 Orchard Row", "city": "Wexley", "dateOfBirth": "1995-08-29",
        "ssn": "000-01-0103",
    },
    # No hire date yet (BambooHR answers "0000-00-00").
    "104": {
        "firstName": "Tomas", "lastName": "Lindqvist", "workEmail": "tomas.lindqvist@example.com",
        "jobTitle": "Office Manager", "department": "Operations", "address1": "2 Quarry Close",
        "city": "Port Elsby", "dateOfBirth": "1979-02-11", "ssn": "000-01-0104",
    },
}  # fmt: skip


def unknown_fields(names: Any) -> list[str]:
    """Names neither known to the sandbox nor custom (``custom...``), sorted."""
    return sorted(n for n in names if n not in KNOWN_FIELDS and not str(n).startswith("custom"))


@dataclass
class HrFaults:
    """Applied to ``/api/`` calls only: latency first, then down, unauthorized, fail_next, rate_limit_next."""

    fail_next: int = 0  # the next n calls answer 503 (no Retry-After)
    rate_limit_next: int = 0  # the next n calls answer 429 with Retry-After: 1
    down: bool = False  # every call answers 503
    latency_s: float = 0.0
    unauthorized: bool = False  # every call answers 401 (a revoked key)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


FAULT_KNOBS = frozenset(HrFaults.__dataclass_fields__)


class HrSandboxState:
    def __init__(self, *, clock: Callable[[], float] = time.time, seed: bool = True) -> None:
        self.clock = clock
        self._seed = seed
        # First back-off of webhook retries (doubled each retry); tests set 0.
        self.webhook_retry_base_s = 0.2
        self.reset()

    def reset(self) -> None:
        """Back to the seeded employees, no updates, no faults, zeroed counters."""
        self.employees: dict[str, dict[str, str]] = copy.deepcopy(SEED_EMPLOYEES) if self._seed else {}
        self.update_log: list[dict[str, Any]] = []
        self.faults = HrFaults()
        self.requests: dict[str, dict[str, int]] = {}
        self.deliveries = {"attempted": 0, "succeeded": 0, "failed": 0}
        self.faults_injected = 0

    # --- time -------------------------------------------------------------------------------------

    def now(self) -> float:
        return self.clock()

    def now_dt(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), tz=timezone.utc)

    # --- employees --------------------------------------------------------------------------------

    def next_id(self) -> str:
        numbers = [int(i) for i in self.employees if i.isdigit()]
        return str(max(numbers, default=100) + 1)

    def put_employee(self, employee_id: str, fields: dict[str, str]) -> None:
        """Create or replace a record (BambooHR field names)."""
        self.employees[employee_id] = dict(fields)

    def update_employee(self, employee_id: str, fields: dict[str, str]) -> None:
        self.employees[employee_id].update(fields)
        self.update_log.append({"employeeId": employee_id, "fields": dict(fields), "at": self.now_dt().isoformat()})

    def updates_of(self, employee_id: str) -> int:
        return sum(1 for entry in self.update_log if entry["employeeId"] == employee_id)

    def answer_fields(self, employee_id: str, names: list[str]) -> dict[str, str | None]:
        """BambooHR's view: ``id`` plus each name asked for; unknown or unset -> null, unset date ->
        ``0000-00-00``."""
        record = self.employees[employee_id]
        answer: dict[str, str | None] = {"id": employee_id}
        for name in names:
            if name == "id":
                continue
            value = record.get(name)
            if value is None and name in DATE_FIELDS:
                value = EMPTY_DATE
            answer[name] = value
        return answer

    # --- faults -----------------------------------------------------------------------------------

    def set_faults(self, knobs: dict[str, Any]) -> dict[str, Any]:
        """Apply knobs (the JSON of ``POST /_sandbox/faults``); all-or-nothing, ``ValueError`` naming the
        first bad one."""
        unknown = set(knobs) - FAULT_KNOBS
        if unknown:
            raise ValueError(f"unknown knobs: {', '.join(sorted(unknown))}")
        updates: dict[str, Any] = {}
        for name, value in knobs.items():
            if name in ("fail_next", "rate_limit_next"):
                updates[name] = _count(name, value)
            elif name in ("down", "unauthorized"):
                updates[name] = _flag(name, value)
            elif name == "latency_s":
                updates[name] = _number(name, value)
        for name, value in updates.items():
            setattr(self.faults, name, value)
        return self.faults.to_json()

    def take(self, knob: str) -> bool:
        """Consume one unit of a counted knob (``fail_next``, ``rate_limit_next``)."""
        left = getattr(self.faults, knob)
        if left <= 0:
            return False
        setattr(self.faults, knob, left - 1)
        self.faults_injected += 1
        return True

    # --- counters ---------------------------------------------------------------------------------

    def count_request(self, route: str, status: int) -> None:
        by_status = self.requests.setdefault(route, {})
        by_status[str(status)] = by_status.get(str(status), 0) + 1

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": {route: dict(counts) for route, counts in self.requests.items()},
            "updates": len(self.update_log),
            "deliveries": dict(self.deliveries),
            "faults": self.faults.to_json(),
            "faults_injected": self.faults_injected,
            "employees": sorted(self.employees),
        }
