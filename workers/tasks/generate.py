"""``contract.generate``: have the provider generate the agreement, exactly once per instance.

Zeebe delivers a job at least once (a worker crash, a timeout, a lost completion), so the request
carries an idempotency key derived from the process instance, and we look the key up before creating:
a retried or duplicated job finds the document the first attempt created.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from workers.providers.base import GenerateRequest
from workers.tasks.build_payload import ContractRequest
from workers.tasks.provider_errors import call_provider
from workers.tasks.runtime import JobInfo, TaskModel, TaskSpec


class GenerateInput(TaskModel):
    contract_request: ContractRequest = Field(description="The output of contract.build-payload (=contractRequest).")


class GenerateOutput(TaskModel):
    doc_id: str
    contract_status: str
    template_id: str


def idempotency_key(job: JobInfo, template_id: str) -> str:
    # One document per process instance and template; stable across retries and re-deliveries.
    return f"cw-{job.process_instance_key}-{template_id}"


async def handle(data: GenerateInput, job: JobInfo, deps: Any) -> GenerateOutput:
    req = data.contract_request
    key = idempotency_key(job, req.template_id)
    existing = await call_provider(
        lambda: deps.provider.find_by_idempotency_key(key), job, "looking up an earlier generation"
    )
    document = existing or await call_provider(
        lambda: deps.provider.generate(
            GenerateRequest(
                template_id=req.template_id,
                data=dict(req.data),
                callback_url=deps.provider_settings.callback_url,
                metadata=dict(req.metadata),
                idempotency_key=key,
            )
        ),
        job,
        f"generating {req.template_id}",
    )
    return GenerateOutput(doc_id=document.doc_id, contract_status=document.status, template_id=req.template_id)


SPEC = TaskSpec(
    type="contract.generate",
    name="Contract: generate",
    description="Asks the provider to generate the agreement (idempotent per process instance).",
    input_model=GenerateInput,
    output_model=GenerateOutput,
    handler=handle,
    # Long enough to wait out a provider's Retry-After in-process instead of spending a retry.
    timeout_ms=60_000,
    retries=5,
    backoff_base_ms=2_000,
)
