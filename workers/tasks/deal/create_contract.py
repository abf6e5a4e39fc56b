"""``deal.create-contract``: create the deal's contract at the provider, once per deal.

SpotDraft takes no idempotency key, so the contract is tagged with the deal id as external id and looked
up by it first: a retried job (the answer to a create lost), a re-delivered job or a second instance for
the same deal (closed won twice) finds the contract the first attempt made instead of making another. A
voided contract does not count (the adapter skips it): closing the deal again then makes a new one.

The request is rebuilt here from the CRM records (fetched by id: personal data never passes through a
process variable). The output is ids, the status and the contract's link; ``spotdraftContractId`` (the
integer id) is the correlation key of the lifecycle messages (``contract-executed``...).

* unknown template -> ``TEMPLATE_NOT_FOUND`` (``contractError.fields`` = ``["templateId"]``);
* the provider refuses the data -> ``CONTRACT_DATA_INVALID`` naming its fields; the deal's data does not
  fit -> ``CONTRACT_DATA_INVALID`` naming the CRM properties; unknown deal -> ``DEAL_NOT_FOUND``.
"""

from __future__ import annotations

from typing import Any

from workers.errors import ContractDataInvalid
from workers.providers.spotdraft.models import Contract, CreateContract
from workers.tasks.deal.crm_errors import DEAL_NOT_FOUND
from workers.tasks.deal.deal_data import DealRef, contract_draft
from workers.tasks.deal.provider_calls import TEMPLATE_NOT_FOUND, call_spotdraft, plugin_client
from workers.tasks.runtime import JobInfo, TaskModel, TaskSpec


class CreateContractInput(DealRef):
    pass


class CreateContractOutput(TaskModel):
    # The composite id (T-1234) every provider call of the flow uses.
    contract_id: str
    # The integer id, as text: the correlation key of the provider's lifecycle messages.
    spotdraft_contract_id: str
    contract_status: str
    contract_link: str
    # True when the provider already held a contract for this deal.
    contract_existed: bool


def _output(contract: Contract, existed: bool) -> CreateContractOutput:
    return CreateContractOutput(contract_id=contract.composite_id, spotdraft_contract_id=str(contract.contract_id),
                                contract_status=contract.status, contract_link=contract.link,
                                contract_existed=existed)  # fmt: skip


async def handle(data: CreateContractInput, job: JobInfo, deps: Any) -> CreateContractOutput:
    provider = plugin_client(deps, data.provider, "provider")
    existing = await call_spotdraft(lambda: provider.find_by_external_id(data.deal_id), job,
                                    f"looking up the contract of deal {data.deal_id}")  # fmt: skip
    if existing is not None:
        return _output(existing, True)
    draft = await contract_draft(deps, data, job)
    request = CreateContract(template_id=data.template_id, contract_data=draft.contract_data,
                             counterparties=[draft.counterparty], external_id=data.deal_id,
                             contract_name=draft.contract_name)  # fmt: skip
    contract = await call_spotdraft(lambda: provider.create_contract(request), job,
                                    f"creating the contract of deal {data.deal_id} from template {data.template_id}")
    return _output(contract, False)


SPEC = TaskSpec(
    type="deal.create-contract",
    name="Deal: create contract",
    description="Creates the deal's contract at the provider from the CRM records (one per deal: looked up "
    "by the deal id as external id first).",
    input_model=CreateContractInput,
    output_model=CreateContractOutput,
    handler=handle,
    error_codes=(ContractDataInvalid.CODE, TEMPLATE_NOT_FOUND, DEAL_NOT_FOUND),
    # Long enough to wait out a provider's or CRM's Retry-After in-process instead of spending a retry.
    timeout_ms=60_000,
    retries=5,
    backoff_base_ms=2_000,
)
