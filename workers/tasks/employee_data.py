"""The claim check: the process carries an employee *id*; the record is fetched from the HR system inside
the task that needs it and never returned to the engine.

Zeebe's exporters keep every value a variable ever had (Operate, the search engine's record indices), so
personal data that once enters a variable stays there for good. The tasks therefore read the record
here, map it onto the template's declared fields (``map_employee``), use it for the provider or the DMS,
and output only ids, statuses and field *names*.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from pydantic import Field

from workers.errors import ContractDataInvalid
from workers.hr.base import HrRecord
from workers.providers.base import Template, TemplateField
from workers.tasks.hr_errors import call_hr
from workers.tasks.provider_errors import call_provider
from workers.tasks.runtime import JobInfo, TaskModel

# Template field -> the normalized HR record key it comes from (``workers.hr.base.HrRecord.fields``).
FIELD_SOURCES: dict[str, str] = {
    "employee_name": "fullName",
    "employee_email": "email",
    "start_date": "startDate",
    "job_title": "jobTitle",
    "department": "department",
}
EMPLOYEE_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class EmployeeRef(TaskModel):
    """What a task needs to find the employee's contract data: ids and choices, no personal value."""

    employee_id: str = Field(pattern=EMPLOYEE_ID_PATTERN, description="The HR system's employee id (=employeeId).")
    template_id: str = Field(default="nda-001", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$",
                             description="The provider's template (generator) id.")  # fmt: skip
    confidentiality_level: str | None = Field(default="high", max_length=32,
                                              description="Fills the template's confidentiality_level.")  # fmt: skip


def check_type(spec: TemplateField, value: Any) -> bool:
    if spec.type == "email":
        return isinstance(value, str) and bool(_EMAIL.match(value))
    if spec.type == "date":
        if not isinstance(value, str):
            return False
        try:
            date.fromisoformat(value)
        except ValueError:
            return False
        return True
    if spec.type == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if spec.type == "boolean":
        return isinstance(value, bool)
    return isinstance(value, str) and bool(value.strip())


def collect(record: dict[str, Any], template: Template, confidentiality_level: str | None
            ) -> tuple[dict[str, Any], list[str], list[str]]:  # fmt: skip
    """(the template's fields filled from the record, problems, names of the fields at fault). Only
    declared fields are ever filled; problems name the field and the kind of fault, never the value."""
    data: dict[str, Any] = {}
    problems: list[str] = []
    fields: list[str] = []
    for spec in template.fields:
        name = spec.name
        if name == "confidentiality_level":
            value, source = confidentiality_level, "confidentialityLevel"
        else:
            key = FIELD_SOURCES.get(name, name)
            value, source = record.get(key), f"HR record {key}"
        if value is None or value == "":
            if spec.required:
                problems.append(f"{source} (template field {name}) is missing")
                fields.append(name)
            continue
        if not check_type(spec, value):
            problems.append(f"{source} (template field {name}) is not a valid {spec.type}")
            fields.append(name)
            continue
        data[name] = value
    return data, problems, fields


def map_employee(employee_id: str, record: dict[str, Any], template: Template,
                 confidentiality_level: str | None) -> dict[str, Any]:  # fmt: skip
    """The provider's data for this template; ``ContractDataInvalid`` naming every field at fault."""
    data, problems, fields = collect(record, template, confidentiality_level)
    if problems:
        raise ContractDataInvalid(
            f"employee {employee_id} does not fit template {template.template_id} v{template.version}: "
            + "; ".join(problems),
            fields,
        )
    return data


async def fetch_record(deps: Any, employee_id: str, job: JobInfo) -> HrRecord:
    return await call_hr(lambda: deps.hr.get_employee(employee_id), job, f"fetching employee {employee_id}")


async def fetch_template(deps: Any, template_id: str, job: JobInfo) -> Template:
    return await call_provider(lambda: deps.provider.get_template(template_id), job,
                               f"fetching template {template_id}")  # fmt: skip


async def contract_data(deps: Any, ref: EmployeeRef, job: JobInfo) -> tuple[Template, dict[str, Any]]:
    """Fetch the record and the template, and map one onto the other (raises on invalid data)."""
    record = await fetch_record(deps, ref.employee_id, job)
    template = await fetch_template(deps, ref.template_id, job)
    return template, map_employee(ref.employee_id, record.fields, template, ref.confidentiality_level)


def tracking_metadata(deps: Any, employee_id: str, template: Template) -> dict[str, str]:
    """Our own tracking keys (ids, not personal data): they go to the provider and the DMS."""
    return {
        "request_id": employee_id,
        "initiated_by": deps.provider_settings.initiated_by,
        "template_version": template.version,
    }
