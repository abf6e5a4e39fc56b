"""``deal.check-data``: check that the closed-won deal can become a contract, before anything is created.

The instance carries only the deal id (the claim check, see ``deal_data``): the deal, its first contact and
its first company are fetched from the CRM here and mapped onto the template's fields and a counterparty.
The output names the template fields that will be filled and the ids of the contact and company used,
never a value; ``deal.create-contract`` rebuilds the request where it is sent. The template itself is not
checked here (our SpotDraft adapter has no template-fields endpoint): an unknown template is
``TEMPLATE_NOT_FOUND`` from ``deal.create-contract``.

* missing or mistyped data -> ``CONTRACT_DATA_INVALID`` naming every CRM property at fault
  (``deal.amount``, ``contact.email``...);
* a deal, contact or company the CRM does not know -> ``DEAL_NOT_FOUND``.
"""

from __future__ import annotations

from typing import Any

from workers.errors import ContractDataInvalid
from workers.tasks.deal.crm_errors import DEAL_NOT_FOUND
from workers.tasks.deal.deal_data import DealRef, contract_draft
from workers.tasks.runtime import JobInfo, TaskModel, TaskSpec


class CheckDataInput(DealRef):
    pass


class CheckDataOutput(TaskModel):
    # The template fields the deal fills (names only).
    contract_fields: list[str]
    contact_id: str | None
    company_id: str | None


async def handle(data: CheckDataInput, job: JobInfo, deps: Any) -> CheckDataOutput:
    draft = await contract_draft(deps, data, job)
    return CheckDataOutput(contract_fields=sorted(draft.contract_data), contact_id=draft.contact_id,
                           company_id=draft.company_id)  # fmt: skip


SPEC = TaskSpec(
    type="deal.check-data",
    name="Deal: fetch and check deal data",
    description="Fetches the CRM deal with its first contact and company and checks them against the "
    "contract's fields; outputs field names and record ids only.",
    input_model=CheckDataInput,
    output_model=CheckDataOutput,
    handler=handle,
    error_codes=(ContractDataInvalid.CODE, DEAL_NOT_FOUND),
    # Long enough to wait out a CRM's Retry-After in-process instead of spending a retry.
    timeout_ms=60_000,
    retries=3,
)
