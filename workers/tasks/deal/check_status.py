"""``deal.check-status``: reconcile when no lifecycle webhook came.

The diagram waits for ``contract-executed`` / ``contract-declined`` / ``contract-voided``; its timer sends
the instance here to ask the provider directly. The status is output as SpotDraft gives it (``EXECUTED``,
``VOIDED``, ``SIGN``, ``REDLINING``...). A declined signature has no status of its own: SpotDraft puts the
contract back in ``DRAFT`` (the published example of ``CONTRACT_SIGNATURE_DECLINED`` carries
``contract_status: DRAFT``; the sandbox does the same), so ``DRAFT`` here, after sending, means declined.

Bounded: when the contract is still not final (neither ``EXECUTED`` nor ``VOIDED``) at the
``maxStatusChecks``-th check, the task throws ``CONTRACT_NOT_EXECUTED`` so a person follows up instead of
the instance polling for ever.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from workers.errors import BusinessError
from workers.tasks.deal.deal_data import ContractRef
from workers.tasks.deal.provider_calls import call_spotdraft, plugin_client
from workers.tasks.runtime import JobInfo, TaskModel, TaskSpec

CONTRACT_NOT_EXECUTED = "CONTRACT_NOT_EXECUTED"
FINAL = frozenset({"EXECUTED", "VOIDED"})
# SpotDraft's status after a declined signature.
DECLINED_STATUS = "DRAFT"


class CheckStatusInput(ContractRef):
    status_checks: int = Field(default=0, ge=0, description="Status checks made so far.")
    max_status_checks: int = Field(default=5, ge=1, le=100,
                                   description="After this many checks: CONTRACT_NOT_EXECUTED.")  # fmt: skip


class CheckStatusOutput(TaskModel):
    contract_status: str
    status_checks: int


async def handle(data: CheckStatusInput, job: JobInfo, deps: Any) -> CheckStatusOutput:
    provider = plugin_client(deps, data.provider, "provider")
    cid = data.contract_id
    found = await call_spotdraft(lambda: provider.get_status(cid), job, f"the status check of contract {cid}")
    checks = data.status_checks + 1
    if found.status not in FINAL and checks >= data.max_status_checks:
        declined = ""
        if found.status == DECLINED_STATUS:
            declined = " (back in DRAFT: the counterparty may have declined to sign)"
        raise BusinessError(
            CONTRACT_NOT_EXECUTED,
            f"contract {cid} still {found.status}{declined} after {checks} status checks and no webhook: "
            "follow up with the counterparty in SpotDraft",
        )
    return CheckStatusOutput(contract_status=found.status, status_checks=checks)


SPEC = TaskSpec(
    type="deal.check-status",
    name="Deal: check contract status",
    description="Asks the provider for the contract's status when no lifecycle webhook came (bounded: "
    "then someone follows up).",
    input_model=CheckStatusInput,
    output_model=CheckStatusOutput,
    handler=handle,
    error_codes=(CONTRACT_NOT_EXECUTED,),
    timeout_ms=30_000,
    retries=3,
)
