"""SpotDraft as a contract provider (Public API v2.1): ``SpotDraftClient`` (``adapter``), its settings
(``SPOTDRAFT_*``, ``SDSANDBOX_*``), webhook verification and the bridge's ``SpotDraftSource``
(``webhooks``). The local simulator is ``workers.sandbox.spotdraft``; ``openapi-trimmed.json`` holds the
published schemas the adapter relies on (the conformance tests check the sandbox against them).
"""

from __future__ import annotations

from typing import Any

from workers.providers.spotdraft.errors import ContractStateInvalid, TemplateNotFound
from workers.providers.spotdraft.models import Contract, ContractStatus, Counterparty, CreateContract, KeyPointer

__all__ = [
    "Contract",
    "ContractStateInvalid",
    "ContractStatus",
    "Counterparty",
    "CreateContract",
    "KeyPointer",
    "SpotDraftClient",
    "SpotDraftSource",
    "SpotDraftVerifier",
    "TemplateNotFound",
    "build_client",
]


def __getattr__(name: str) -> Any:  # lazy: importing the models stays cheap
    if name in ("SpotDraftClient", "build_client"):
        from workers.providers.spotdraft import adapter

        return getattr(adapter, name)
    if name in ("SpotDraftSource", "SpotDraftVerifier"):
        from workers.providers.spotdraft import webhooks

        return getattr(webhooks, name)
    raise AttributeError(name)
