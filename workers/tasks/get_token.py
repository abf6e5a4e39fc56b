"""``contract.get-token``: warm and validate the provider token in this worker's cache.

The token itself stays in the worker process (``providers.tokens``); the process only learns
non-secret facts about it, which is what an operator needs to see in Operate.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from workers.tasks.provider_errors import call_provider
from workers.tasks.runtime import JobInfo, TaskModel, TaskSpec


class GetTokenInput(TaskModel):
    pass


class TokenFacts(TaskModel):
    provider: str
    expires_at: datetime
    scopes: list[str]


class GetTokenOutput(TaskModel):
    provider_token: TokenFacts


async def handle(data: GetTokenInput, job: JobInfo, deps: Any) -> GetTokenOutput:
    info = await call_provider(deps.provider.ensure_token, job, "the token request")
    return GetTokenOutput(
        provider_token=TokenFacts(provider=info.provider, expires_at=info.expires_at, scopes=list(info.scopes))
    )


SPEC = TaskSpec(
    type="contract.get-token",
    name="Contract: get provider token",
    description="Fetches or reuses the OAuth2 client-credentials token; outputs only provider, expiry and scopes.",
    input_model=GetTokenInput,
    output_model=GetTokenOutput,
    handler=handle,
    error_codes=(),
    timeout_ms=30_000,
    retries=3,
)
