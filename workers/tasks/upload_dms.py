"""``contract.upload-dms``: stream the document from the provider into the DMS, once, with pruned metadata.

Idempotent by document id: a retried job (or a second instance for the same employee) finds the stored
document and reports it. The download is spooled to a size-capped temporary file (hashing as it goes) so
a huge or endless response cannot exhaust memory, then uploaded with the metadata the DMS may keep.

That metadata is decided here (``prune_pii.prune``: only allow-listed scalar fields, plus our tracking
ids) from the HR record fetched by employee id, so no personal value passes through a process variable.
Instances of the first ``employee-nda`` version still bring a ``dmsMetadata`` variable from
``contract.prune-pii``; it is used as it is.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from workers.dms.base import DmsRejected, DmsUnavailable
from workers.dms.spool import spool_download
from workers.errors import ContractDataInvalid, TransientError
from workers.providers.base import ProviderError
from workers.tasks.employee_data import EMPLOYEE_ID_PATTERN, collect, fetch_record, fetch_template, tracking_metadata
from workers.tasks.hr_errors import EmployeeUnknown
from workers.tasks.provider_errors import call_provider
from workers.tasks.prune_pii import prune
from workers.tasks.runtime import JobInfo, TaskModel, TaskSpec


class UploadInput(TaskModel):
    doc_id: str = Field(min_length=1, description="=docId")
    employee_id: str | None = Field(default=None, pattern=EMPLOYEE_ID_PATTERN,
                                    description="The HR system's employee id (=employeeId).")  # fmt: skip
    template_id: str = Field(default="nda-001", min_length=1, description="The provider's template id.")
    confidentiality_level: str | None = Field(default="high", description="As given to contract.generate.")
    dms_metadata: dict[str, str] | None = Field(
        default=None, description="Only in instances of employee-nda v1 (output of contract.prune-pii)."
    )


class DmsDocument(TaskModel):
    document_key: str
    location: str
    size: int
    sha256: str
    already_existed: bool


class UploadOutput(TaskModel):
    dms_document: DmsDocument
    dms_location: str
    # Names of the record's fields kept out of the DMS (never their values).
    dropped_fields: list[str]


async def dms_metadata(data: UploadInput, job: JobInfo, deps: Any) -> tuple[dict[str, str], list[str]]:
    """(what the DMS may keep, the names of what it may not). The record's fields that do not fit the
    template any more are simply not kept: the document exists, filing it must not depend on them."""
    if data.dms_metadata is not None:  # an employee-nda v1 instance: pruned by contract.prune-pii
        return dict(data.dms_metadata), []
    if data.employee_id is None:
        raise ContractDataInvalid("contract.upload-dms needs employeeId (or dmsMetadata)", ["employeeId"])
    try:
        record = (await fetch_record(deps, data.employee_id, job)).fields
    except EmployeeUnknown:  # removed from the HR system since: file the document with our ids only
        record = {}
    template = await fetch_template(deps, data.template_id, job)
    fields, _, _ = collect(record, template, data.confidentiality_level)
    metadata = {**tracking_metadata(deps, data.employee_id, template), "template_id": template.template_id,
                "doc_id": data.doc_id}  # fmt: skip
    return prune(template.template_id, fields, metadata, deps.pii.allow_list, deps.pii.always_allowed)


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
        return existing, []
    metadata, dropped = await dms_metadata(data, job, deps)
    settings = deps.dms_settings

    async def download():
        return await spool_download(deps.provider.download(data.doc_id), settings.max_document_bytes)

    spooled = await call_provider(download, job, f"downloading document {data.doc_id}")
    try:
        stored = await dms.store(data.doc_id, _filename(metadata), spooled.path, "application/pdf",
                                 {**metadata, "sha256": spooled.sha256})  # fmt: skip
        return stored, dropped
    finally:
        spooled.path.unlink(missing_ok=True)


async def handle(data: UploadInput, job: JobInfo, deps: Any) -> UploadOutput:
    try:
        stored, dropped = await _store(data, job, deps)
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
        dropped_fields=dropped,
    )


SPEC = TaskSpec(
    type="contract.upload-dms",
    name="Contract: upload to DMS",
    description="Streams the document from the provider (size-capped) into the DMS with metadata pruned to "
    "the allow-list (decided from the HR record, inside the task).",
    input_model=UploadInput,
    output_model=UploadOutput,
    handler=handle,
    timeout_ms=120_000,
    max_running_jobs=4,
    retries=5,
    backoff_base_ms=2_000,
)
