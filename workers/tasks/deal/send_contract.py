"""``deal.send-contract``: send the contract to its counterparties, once.

Idempotent by the contract's status, read first: the sandbox (our reading of SpotDraft's lifecycle) moves a
sent contract from ``DRAFT`` to ``REDLINING`` and accepts a send again while ``REDLINING`` as a *re-send*, a
second e-mail to the counterparty. So only a ``DRAFT`` is sent; ``REDLINING``, ``SIGN`` and ``EXECUTED``
mean it went out already (a retried job whose first attempt sent it, or the same deal closed again) and are
left alone. (A declined signature puts the contract back in ``DRAFT``: a new instance for the deal sends
it again, which is what closing the deal again asks for.)

* ``VOIDED``, ``ON_HOLD`` or a status we do not know -> ``CONTRACT_STATE_INVALID`` without calling;
* SpotDraft refusing the send in the contract's state (HTTP 402) -> ``CONTRACT_STATE_INVALID``.
"""

from __future__ import annotations

from typing import Any

import structlog

from workers.tasks.deal.deal_data import ContractRef
from workers.tasks.deal.provider_calls import CONTRACT_STATE_INVALID, ContractStateRefused, call_spotdraft
from workers.tasks.deal.provider_calls import plugin_client
from workers.tasks.runtime import JobInfo, TaskModel, TaskSpec

log = structlog.get_logger(__name__)

SENDABLE = "DRAFT"
ALREADY_SENT = frozenset({"REDLINING", "SIGN", "EXECUTED"})


class SendContractInput(ContractRef):
    pass


class SendContractOutput(TaskModel):
    contract_status: str


async def handle(data: SendContractInput, job: JobInfo, deps: Any) -> SendContractOutput:
    provider = plugin_client(deps, data.provider, "provider")
    cid = data.contract_id

    async def status() -> str:
        found = await call_spotdraft(lambda: provider.get_status(cid), job, f"reading the status of contract {cid}")
        return found.status

    current = await status()
    if current in ALREADY_SENT:
        log.info("deal_contract_already_sent", contract_id=cid, contract_status=current)
        return SendContractOutput(contract_status=current)
    if current != SENDABLE:
        raise ContractStateRefused(f"contract {cid} is {current}: only a DRAFT contract is sent to its "
                                   "counterparties; check the contract in SpotDraft")  # fmt: skip
    await call_spotdraft(lambda: provider.send_to_counterparties(cid), job,
                         f"sending contract {cid} (DRAFT) to its counterparties", state_errors=True)  # fmt: skip
    return SendContractOutput(contract_status=await status())


SPEC = TaskSpec(
    type="deal.send-contract",
    name="Deal: send to counterparties",
    description="Sends the contract to its counterparties for signature when it is still a draft (a "
    "contract already sent, signed or executed is left alone).",
    input_model=SendContractInput,
    output_model=SendContractOutput,
    handler=handle,
    error_codes=(CONTRACT_STATE_INVALID,),
    timeout_ms=60_000,
    retries=5,
    backoff_base_ms=2_000,
)
