"""``deal.file-contract``: stream the executed contract from the provider into the DMS, once, with our ids
and the contract's key data as metadata.

Idempotent by document key = the composite contract id (``T-1234``): a retried job, or a second instance
for the same deal, finds the stored document and reports it. The download is spooled to a size-capped
temporary file (hashing as it goes; anything that is not a PDF is refused there), then stored as
``<dealId>_<contractId>_CONTRACT.pdf``.

The metadata is the "prune" step of this flow: ``deal_id``, ``contract_id``, ``provider``, ``sha256`` and
the key data ``deal.key-data`` produced (identifier-like names, short texts); no counterparty, contact or
company data. DMS and download failures are transient (retries, then an incident), as in
``contract.upload-dms``.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field

from workers.dms.base import DmsRejected, DmsUnavailable, StoredDocument
from workers.dms.spool import spool_download
from workers.errors import TransientError
from workers.providers.base import ProviderError
from workers.tasks.deal.deal_data import DEAL_ID_PATTERN, ContractRef
from workers.tasks.deal.provider_calls import call_spotdraft, plugin_client
from workers.tasks.runtime import JobInfo, TaskModel, TaskSpec
from workers.tasks.upload_dms import DmsDocument, _safe

KEY_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
MAX_KEY_DATA = 32
MAX_VALUE_CHARS = 256
OUR_KEYS = ("deal_id", "contract_id", "provider", "sha256")


class FileContractInput(ContractRef):
    deal_id: str = Field(pattern=DEAL_ID_PATTERN, description="The CRM deal id (=dealId).")
    contract_key_data: dict[str, str] = Field(default_factory=dict, max_length=100,
                                              description="Output of deal.key-data: kept as DMS metadata.")  # fmt: skip


class FileContractOutput(TaskModel):
    dms_document: DmsDocument
    dms_location: str


def filename(deal_id: str, contract_id: str) -> str:
    """``<dealId>_<contractId>_CONTRACT.pdf`` from ASCII letters, digits, '-' and '_' only."""
    return f"{_safe(deal_id) or 'deal'}_{_safe(contract_id) or 'contract'}_CONTRACT.pdf"


def metadata(data: FileContractInput) -> dict[str, str]:
    """Our ids and the key data (identifier-like names, short values); nothing about a person."""
    kept = {name: value for name, value in sorted(data.contract_key_data.items())
            if KEY_NAME.match(name) and name not in OUR_KEYS and len(value) <= MAX_VALUE_CHARS}  # fmt: skip
    kept = dict(list(kept.items())[:MAX_KEY_DATA])
    return {**kept, "deal_id": data.deal_id, "contract_id": data.contract_id, "provider": data.provider}


async def _store(data: FileContractInput, job: JobInfo, deps: Any) -> StoredDocument:
    dms, key = deps.dms, data.contract_id
    existing = await dms.find(key)
    if existing:
        return existing
    provider = plugin_client(deps, data.provider, "provider")
    limit = deps.dms_settings.max_document_bytes

    async def download():
        return await spool_download(provider.download(key), limit)

    spooled = await call_spotdraft(download, job, f"downloading contract {key}")
    try:
        return await dms.store(key, filename(data.deal_id, key), spooled.path, "application/pdf",
                               {**metadata(data), "sha256": spooled.sha256})  # fmt: skip
    finally:
        spooled.path.unlink(missing_ok=True)


async def handle(data: FileContractInput, job: JobInfo, deps: Any) -> FileContractOutput:
    try:
        stored = await _store(data, job, deps)
    except DmsUnavailable as exc:
        raise TransientError(f"DMS ({deps.dms.name}) unavailable: {exc}") from None
    except DmsRejected as exc:
        raise TransientError(f"DMS ({deps.dms.name}) refused contract {data.contract_id}: {exc}") from None
    except ProviderError as exc:
        raise TransientError(f"downloading contract {data.contract_id} failed: {exc}") from None
    document = DmsDocument(document_key=stored.document_key, location=stored.location, size=stored.size,
                           sha256=stored.sha256, already_existed=stored.already_existed)  # fmt: skip
    return FileContractOutput(dms_document=document, dms_location=stored.location)


SPEC = TaskSpec(
    type="deal.file-contract",
    name="Deal: file executed contract in DMS",
    description="Streams the executed contract from the provider (size-capped, PDF only) into the DMS with "
    "our ids and the contract's key data as metadata; once per contract.",
    input_model=FileContractInput,
    output_model=FileContractOutput,
    handler=handle,
    error_codes=(),
    timeout_ms=120_000,
    max_running_jobs=4,
    retries=5,
    backoff_base_ms=2_000,
)
