"""``contract.build-payload``: the HR employee record -> the provider's generation request.

The template's declared field list (fetched from the provider, so a new template version is noticed)
is the contract: every required field must be filled, no undeclared field may be sent, and each value
must have the declared type. Problems become one ``CONTRACT_DATA_INVALID`` BPMN error naming every
field at fault (names only: the values are personal data).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from pydantic import ConfigDict, Field

from workers.errors import ContractDataInvalid
from workers.providers.base import Template, TemplateField
from workers.tasks.provider_errors import call_provider
from workers.tasks.runtime import JobInfo, TaskModel, TaskSpec

# Template field -> where it comes from in the HR record (camelCase keys, as HR systems send them).
FIELD_SOURCES: dict[str, str] = {
    "employee_name": "fullName",
    "employee_email": "email",
    "start_date": "startDate",
    "job_title": "jobTitle",
    "department": "department",
}

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Employee(TaskModel):
    """The HR record. Only ``id`` is required here; the template decides what else must be present."""

    model_config = ConfigDict(alias_generator=None, extra="allow", frozen=True, populate_by_name=True)

    id: str = Field(min_length=1, description="The HR system's employee id; becomes the request id.")


class BuildPayloadInput(TaskModel):
    employee: Employee = Field(description="The new-hire record from the HR system (=employee).")
    template_id: str = Field(default="nda-001", min_length=1, description="The provider's generator id.")
    confidentiality_level: str | None = Field(default="high", description="Fills the template's confidentiality_level.")


class ContractRequest(TaskModel):
    template_id: str
    template_version: str
    data: dict[str, Any]
    metadata: dict[str, str]


class BuildPayloadOutput(TaskModel):
    contract_request: ContractRequest


def _check_type(spec: TemplateField, value: Any) -> bool:
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


def map_employee(employee: Employee, template: Template, confidentiality_level: str | None) -> dict[str, Any]:
    """Fill the template's fields from the record; raise ``ContractDataInvalid`` naming every bad field."""
    record = employee.model_extra or {}
    declared = {f.name: f for f in template.fields}
    data: dict[str, Any] = {}
    problems: list[str] = []
    fields: list[str] = []
    for name, spec in declared.items():
        if name == "confidentiality_level":
            value = confidentiality_level
            source = "confidentialityLevel"
        else:
            source = f"employee.{FIELD_SOURCES.get(name, name)}"
            value = record.get(FIELD_SOURCES.get(name, name))
        if value is None or value == "":
            if spec.required:
                problems.append(f"{source} (template field {name}) is missing")
                fields.append(name)
            continue
        if not _check_type(spec, value):
            problems.append(f"{source} (template field {name}) is not a valid {spec.type}")
            fields.append(name)
            continue
        data[name] = value
    unknown = sorted(set(data) - set(declared))
    for name in unknown:  # cannot happen with the mapping above; guards future mapping edits
        problems.append(f"{name} is not a field of template {template.template_id}")
        fields.append(name)
    if problems:
        raise ContractDataInvalid(
            f"employee {employee.id} does not fit template {template.template_id} v{template.version}: "
            + "; ".join(problems),
            fields,
        )
    return data


async def handle(data: BuildPayloadInput, job: JobInfo, deps: Any) -> BuildPayloadOutput:
    template = await call_provider(
        lambda: deps.provider.get_template(data.template_id), job, f"fetching template {data.template_id}"
    )
    payload = map_employee(data.employee, template, data.confidentiality_level)
    return BuildPayloadOutput(
        contract_request=ContractRequest(
            template_id=template.template_id,
            template_version=template.version,
            data=payload,
            metadata={
                "request_id": data.employee.id,
                "initiated_by": deps.provider_settings.initiated_by,
                "template_version": template.version,
            },
        )
    )


SPEC = TaskSpec(
    type="contract.build-payload",
    name="Contract: build payload",
    description="Maps the employee record onto the template's declared fields and adds tracking metadata.",
    input_model=BuildPayloadInput,
    output_model=BuildPayloadOutput,
    handler=handle,
    timeout_ms=30_000,
    retries=3,
)
