"""``contract.hr-sync``: tell the HR system how the employee's NDA ended (filed, or rejected), on the
employee's record, idempotently.

Two custom fields of the record (``BAMBOOHR_NDA_STATUS_FIELD``, ``BAMBOOHR_NDA_DOCUMENT_FIELD``) are set
through the HR API's employee update; setting the same values again changes nothing, so a retried or
re-delivered job is harmless. What is written is ours: the template, the outcome, the provider's document
id and the DMS location; for a rejection the *names* of the fields at fault, never a value.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from workers.tasks.employee_data import EMPLOYEE_ID_PATTERN
from workers.tasks.hr_errors import call_hr
from workers.tasks.runtime import JobInfo, TaskModel, TaskSpec


class ContractErrorRef(BaseModel):
    """The part of the ``contractError`` variable the HR record gets: the code and the field names."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    code: str = Field(max_length=64)
    fields: list[str] = Field(default_factory=list, max_length=50)


class HrSyncInput(TaskModel):
    employee_id: str = Field(pattern=EMPLOYEE_ID_PATTERN, description="The HR system's employee id (=employeeId).")
    hr_outcome: Literal["filed", "rejected"] = Field(description='Set by the diagram: "filed" or "rejected".')
    template_id: str = Field(default="nda-001", description="The provider's template id.")
    doc_id: str | None = Field(default=None, description="The provider's document id, when filed.")
    dms_location: str | None = Field(default=None, max_length=1024, description="Where the DMS filed it.")
    contract_error: ContractErrorRef | None = Field(default=None,
                                                    description="Why it was rejected (code and field names).")


class HrSyncResult(TaskModel):
    system: str
    outcome: str
    fields_written: list[str]


class HrSyncOutput(TaskModel):
    hr_sync: HrSyncResult


def _safe_names(names: list[str]) -> list[str]:
    return sorted({n for n in names if n.replace("_", "").replace(".", "").isalnum() and len(n) <= 64})


def hr_fields(data: HrSyncInput, settings: Any) -> dict[str, str]:
    if data.hr_outcome == "filed":
        status = f"{data.template_id} filed (document {data.doc_id or 'unknown'})"
        document = data.dms_location or ""
    else:
        names = _safe_names(data.contract_error.fields if data.contract_error else [])
        reason = ("invalid or missing: " + ", ".join(names)) if names else "employee data invalid"
        status = f"{data.template_id} rejected ({reason})"
        document = ""
    return {settings.nda_status_field: status[:255], settings.nda_document_field: document}


async def handle(data: HrSyncInput, job: JobInfo, deps: Any) -> HrSyncOutput:
    fields = hr_fields(data, deps.hr_settings)
    await call_hr(lambda: deps.hr.update_employee(data.employee_id, fields), job,
                  f"recording the NDA outcome on employee {data.employee_id}")  # fmt: skip
    return HrSyncOutput(hr_sync=HrSyncResult(system=deps.hr.name, outcome=data.hr_outcome,
                                             fields_written=sorted(fields)))  # fmt: skip


SPEC = TaskSpec(
    type="contract.hr-sync",
    name="Contract: record the outcome in HR",
    description="Writes the NDA's outcome (filed with its DMS location, or rejected with field names) to "
    "the employee's HR record; idempotent.",
    input_model=HrSyncInput,
    output_model=HrSyncOutput,
    handler=handle,
    timeout_ms=30_000,
    retries=5,
    backoff_base_ms=2_000,
)
