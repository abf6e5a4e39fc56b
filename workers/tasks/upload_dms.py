"""``contract.upload-dms``: stream the document from the provider into the DMS, once.

Idempotent by document id: a retried job finds the stored document and reports it. The download is
spooled to a size-capped temporary file (hashing as it goes) so a huge or endless response cannot
exhaust memory, then uploaded with the pruned metadata.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from workers.dms.base import DmsRejected, DmsUnavailable
from workers.dms.spool import spool_download
from workers.errors import TransientError
from workers.providers.base import ProviderError
from workers.tasks.provider_errors import call_provider
from workers.tasks.runtime import JobInfo, TaskModel, TaskSpec


class UploadInput(TaskModel):
    doc_id: str = Field(min_length=1, description="=docId")
    dms_metadata: dict[str, str] = Field(description="The output of contract.prune-pii (=dmsMetadata).")


class DmsDocument(TaskModel):
    document_key: str
    location: str
    size: int
    sha256: str
    already_existed: bool


class UploadOutput(TaskModel):
    dms_document: DmsDocument
    dms_location: str


def _safe(text: str) -> str:
    return "".join(c for c in text if (c.isascii() and c.isalnum()) or c in "-_")


def _filename(metadata: dict[str, str]) -> str:
    # Both parts come from data (HR record, provider template): ASCII letters, digits, '-' and '_' only.
    request_id = _safe(metadata.get("request_id", "")) or "contract"
    template = _safe(metadata.get("template_id", "contract").split("-")[0]).upper() or "CONTRACT"
    return f"{request_id}_{template}.pdf"


async def _store(data: UploadInput, job: JobInfo, deps: Any):
    dms = deps.dms
    existing = await dms.find(data.doc_id)
    if existing:
        return existing
    settings = deps.dms_settings

    async def download():
        return await spool_download(deps.provider.download(data.doc_id), settings.max_document_bytes)

    spooled = await call_provider(download, job, f"downloading document {data.doc_id}")
    try:
        return await dms.store(data.doc_id, _filename(data.dms_metadata), spooled.path, "application/pdf",
                               {**data.dms_metadata, "sha256": spooled.sha256})  # fmt: skip
    finally:
        spooled.path.unlink(missing_ok=True)


async def handle(data: UploadInput, job: JobInfo, deps: Any) -> UploadOutput:
    try:
        stored = await _store(data, job, deps)
    except DmsUnavailable as exc:
        raise TransientError(f"DMS ({deps.dms.name}) unavailable: {exc}") from None
    except DmsRejected as exc:
        raise TransientError(f"DMS ({deps.dms.name}) refused document {data.doc_id}: {exc}") from None
    except ProviderError as exc:
        raise TransientError(f"downloading document {data.doc_id} failed: {exc}") from None
    return UploadOutput(
        dms_document=DmsDocument(
            document_key=stored.document_key,
            location=stored.location,
            size=stored.size,
            sha256=stored.sha256,
            already_existed=stored.already_existed,
        ),
        dms_location=stored.location,
    )


SPEC = TaskSpec(
    type="contract.upload-dms",
    name="Contract: upload to DMS",
    description="Streams the document from the provider (size-capped) into the DMS with the pruned metadata.",
    input_model=UploadInput,
    output_model=UploadOutput,
    handler=handle,
    timeout_ms=120_000,
    max_running_jobs=4,
    retries=5,
    backoff_base_ms=2_000,
)
