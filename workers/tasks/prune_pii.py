"""``contract.prune-pii``: decide what may leave with the document, and scrub the instance.

Only fields on the template's allow-list (``PII_ALLOW_LIST``) plus our own tracking keys go to the
DMS. The output names the dropped fields, never their values. It also overwrites the instance's
``employee`` and ``contractRequest`` variables, so that after this step the instance keeps only the
employee id and the allow-listed metadata (Operate shows current values to everyone who can see it).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from workers.tasks.build_payload import ContractRequest
from workers.tasks.runtime import JobInfo, TaskModel, TaskSpec


class PruneInput(TaskModel):
    contract_request: ContractRequest = Field(description="=contractRequest")
    doc_id: str = Field(min_length=1, description="=docId")


class RemainingEmployee(TaskModel):
    id: str


class PruneOutput(TaskModel):
    dms_metadata: dict[str, str]
    dropped_fields: list[str]
    employee: RemainingEmployee
    contract_request: None = None


def prune(template_id: str, data: dict[str, Any], metadata: dict[str, str], allow: dict[str, list[str]],
          always: list[str]) -> tuple[dict[str, str], list[str]]:  # fmt: skip
    allowed = set(allow.get(template_id, []))
    kept = {k: str(v) for k, v in data.items() if k in allowed}
    kept.update({k: str(v) for k, v in metadata.items() if k in always})
    dropped = sorted({k for k in data if k not in allowed} | {k for k in metadata if k not in always})
    return kept, dropped


async def handle(data: PruneInput, job: JobInfo, deps: Any) -> PruneOutput:
    req = data.contract_request
    metadata = {**req.metadata, "template_id": req.template_id, "doc_id": data.doc_id}
    kept, dropped = prune(req.template_id, req.data, metadata, deps.pii.allow_list, deps.pii.always_allowed)
    return PruneOutput(
        dms_metadata=kept,
        dropped_fields=dropped,
        employee=RemainingEmployee(id=req.metadata.get("request_id", "")),
    )


SPEC = TaskSpec(
    type="contract.prune-pii",
    name="Contract: prune personal data",
    description="Keeps only allow-listed fields for the DMS and scrubs personal data from the instance.",
    input_model=PruneInput,
    output_model=PruneOutput,
    handler=handle,
    timeout_ms=10_000,
    retries=3,
)
