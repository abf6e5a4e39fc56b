"""``contract.generate``: have the provider generate the agreement, once per employee and template.

The request is rebuilt here from the HR record (fetched by id: personal data never passes through a
process variable). Zeebe delivers a job at least once, and an HR system may start onboarding twice for
the same hire, so the request carries an external id derived from the *business* key (employee id +
template), and we look it up at the provider before creating: a retried job, a duplicated job or a second
instance for the same employee finds the document the first attempt created instead of a second NDA.
"""

from __future__ import annotations

from typing import Any

from workers.errors import ContractDataInvalid
from workers.providers.base import GenerateRequest
from workers.tasks.employee_data import EmployeeRef, contract_data, tracking_metadata
from workers.tasks.hr_errors import EMPLOYEE_NOT_FOUND
from workers.tasks.provider_errors import call_provider
from workers.tasks.runtime import JobInfo, TaskModel, TaskSpec


class GenerateInput(EmployeeRef):
    pass


class GenerateOutput(TaskModel):
    doc_id: str
    contract_status: str
    template_id: str
    # True when the provider already held this employee's document for this template.
    document_existed: bool


def external_id(employee_id: str, template_id: str) -> str:
    """One document per employee and template, whatever instance or job asks (the provider's
    ``Idempotency-Key``, which it also lets us look documents up by)."""
    return f"cw-emp-{employee_id}-{template_id}"


async def handle(data: GenerateInput, job: JobInfo, deps: Any) -> GenerateOutput:
    key = external_id(data.employee_id, data.template_id)
    existing = await call_provider(
        lambda: deps.provider.find_by_idempotency_key(key), job, "looking up an earlier generation"
    )
    if existing is not None:
        return GenerateOutput(doc_id=existing.doc_id, contract_status=existing.status,
                              template_id=data.template_id, document_existed=True)  # fmt: skip
    template, payload = await contract_data(deps, data, job)
    request = GenerateRequest(
        template_id=template.template_id,
        data=payload,
        callback_url=deps.provider_settings.callback_url,
        metadata=tracking_metadata(deps, data.employee_id, template),
        idempotency_key=key,
    )
    document = await call_provider(lambda: deps.provider.generate(request), job, f"generating {template.template_id}")
    return GenerateOutput(doc_id=document.doc_id, contract_status=document.status, template_id=data.template_id,
                          document_existed=False)  # fmt: skip


SPEC = TaskSpec(
    type="contract.generate",
    name="Contract: generate",
    description="Asks the provider to generate the agreement from the HR record (one per employee and "
    "template: looked up by external id first).",
    input_model=GenerateInput,
    output_model=GenerateOutput,
    handler=handle,
    error_codes=(ContractDataInvalid.CODE, EMPLOYEE_NOT_FOUND),
    # Long enough to wait out a provider's Retry-After in-process instead of spending a retry.
    timeout_ms=60_000,
    retries=5,
    backoff_base_ms=2_000,
)
