"""``contract.check-status``: reconcile when the provider's webhook is late.

The diagram waits for the ``contract-ready`` message; its timer sends the instance here to ask the
provider directly. Bounded: after ``maxReconcileAttempts`` checks that still find the document
processing, the task throws ``CONTRACT_NOT_READY`` so the instance ends on a visible path instead of
polling forever.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from workers.errors import BusinessError, ContractDataInvalid
from workers.tasks.provider_errors import call_provider
from workers.tasks.runtime import JobInfo, TaskModel, TaskSpec

NOT_READY = "CONTRACT_NOT_READY"


class CheckStatusInput(TaskModel):
    doc_id: str = Field(min_length=1, description="The provider's document id (=docId).")
    reconcile_attempts: int = Field(default=0, ge=0)
    max_reconcile_attempts: int = Field(default=5, ge=1, le=100)


class CheckStatusOutput(TaskModel):
    contract_status: str
    reconcile_attempts: int


async def handle(data: CheckStatusInput, job: JobInfo, deps: Any) -> CheckStatusOutput:
    document = await call_provider(lambda: deps.provider.get_document(data.doc_id), job, "the status check")
    attempts = data.reconcile_attempts + 1
    if document.status == "processing" and attempts >= data.max_reconcile_attempts:
        raise BusinessError(
            NOT_READY,
            f"document {data.doc_id} still processing after {attempts} status checks and no webhook",
        )
    return CheckStatusOutput(contract_status=document.status, reconcile_attempts=attempts)


SPEC = TaskSpec(
    type="contract.check-status",
    name="Contract: check status",
    description="Asks the provider for the document's status when its webhook is late (bounded).",
    input_model=CheckStatusInput,
    output_model=CheckStatusOutput,
    handler=handle,
    error_codes=(NOT_READY, ContractDataInvalid.CODE),
    timeout_ms=30_000,
    retries=3,
)
