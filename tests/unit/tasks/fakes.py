"""Fake provider and DMS objects for the task handler tests: no engine, no HTTP, no patching.

Each fake records its calls and can be told to raise on a named method (``fail``: method -> exception,
raised once per entry in the list, in order).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from workers.config import DmsSettings, PiiSettings, ProviderSettings
from workers.dms.base import StoredDocument
from workers.hr.base import EmployeeNotFound, HrRecord
from workers.hr.settings import BambooHrSettings
from workers.providers.base import Document, GenerateRequest, Template, TemplateField, TokenInfo
from workers.tasks.runtime import JobInfo

PDF = b"%PDF-1.7\n" + b"fake agreement\n" * 100 + b"%%EOF\n"
NDA = Template(
    "nda-001",
    "3",
    (
        TemplateField("employee_name"),
        TemplateField("employee_email", "email"),
        TemplateField("start_date", "date"),
        TemplateField("confidentiality_level", "string"),
        TemplateField("job_title", required=False),
    ),
)


def job(process_instance_key: int = 2251799813685290, key: int = 2251799813685301, seconds_left: float = 600) -> JobInfo:
    # A deadline far ahead: nothing in these tests depends on how fast the machine is.
    return JobInfo(key, process_instance_key, "employee-nda", "task", 3, int((time.time() + seconds_left) * 1000))


class _Failing:
    fail: dict[str, list[Exception]]
    calls: list[tuple[str, Any]]

    def _call(self, method: str, arg: Any = None) -> None:
        self.calls.append((method, arg))
        queued = self.fail.get(method)
        if queued:
            raise queued.pop(0)

    def called(self, method: str) -> list[Any]:
        return [arg for name, arg in self.calls if name == method]


@dataclass
class FakeProvider(_Failing):
    name: str = "fake"
    templates: dict[str, Template] = field(default_factory=lambda: {"nda-001": NDA})
    documents: dict[str, Document] = field(default_factory=dict)
    by_key: dict[str, str] = field(default_factory=dict)
    content: bytes = PDF
    # generate creates the document, then raises this (a timeout after the provider did the work)
    fail_after_generate: Exception | None = None
    fail: dict[str, list[Exception]] = field(default_factory=dict)
    calls: list[tuple[str, Any]] = field(default_factory=list)

    async def ensure_token(self) -> TokenInfo:
        self._call("ensure_token")
        return TokenInfo("fake", datetime(2027, 1, 4, 12, 0, tzinfo=timezone.utc), ("generate:nda-001", "documents:read"))

    async def get_template(self, template_id: str) -> Template:
        self._call("get_template", template_id)
        return self.templates[template_id]

    async def find_by_idempotency_key(self, key: str) -> Document | None:
        self._call("find_by_idempotency_key", key)
        doc_id = self.by_key.get(key)
        return self.documents[doc_id] if doc_id else None

    async def generate(self, request: GenerateRequest) -> Document:
        self._call("generate", request)
        doc = Document(f"doc-{len(self.documents) + 1}", "processing", request.template_id, dict(request.metadata))
        self.documents[doc.doc_id] = doc
        self.by_key[request.idempotency_key] = doc.doc_id
        if self.fail_after_generate is not None:
            exc, self.fail_after_generate = self.fail_after_generate, None
            raise exc
        return doc

    async def get_document(self, doc_id: str) -> Document:
        self._call("get_document", doc_id)
        return self.documents[doc_id]

    def download(self, doc_id: str) -> AsyncIterator[bytes]:
        async def chunks() -> AsyncIterator[bytes]:
            self._call("download", doc_id)
            for start in range(0, len(self.content), 256):
                yield self.content[start : start + 256]

        return chunks()


@dataclass
class FakeDms(_Failing):
    name: str = "fake-dms"
    stored: dict[str, StoredDocument] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail: dict[str, list[Exception]] = field(default_factory=dict)
    calls: list[tuple[str, Any]] = field(default_factory=list)

    async def find(self, document_key: str) -> StoredDocument | None:
        self._call("find", document_key)
        found = self.stored.get(document_key)
        return None if found is None else StoredDocument(**{**found.__dict__, "already_existed": True})

    async def store(self, document_key: str, filename: str, content_path: Path, content_type: str,
                    metadata: dict[str, str]) -> StoredDocument:  # fmt: skip
        content = content_path.read_bytes()
        self._call("store", {"key": document_key, "filename": filename, "path": content_path,
                             "content_type": content_type, "metadata": metadata, "content": content})  # fmt: skip
        doc = StoredDocument(document_key, f"fake://{document_key}/{filename}", len(content),
                             hashlib.sha256(content).hexdigest())  # fmt: skip
        self.stored[document_key] = doc
        return doc


# Normalized HR records (workers.hr.base.HrRecord.fields), as the adapter returns them.
GRACE = {
    "fullName": "Grace Hopper",
    "email": "grace.hopper@example.com",
    "startDate": "2027-01-04",
    "jobTitle": "Rear Admiral",
    "department": "Navy",
    "homeAddress": "1 Navy Yard, Arlington",
    "birthDate": "1906-12-09",
}


@dataclass
class FakeHr(_Failing):
    name: str = "fake-hr"
    records: dict[str, dict[str, Any]] = field(default_factory=lambda: {"E-4242": dict(GRACE)})
    updates: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    fail: dict[str, list[Exception]] = field(default_factory=dict)
    calls: list[tuple[str, Any]] = field(default_factory=list)

    async def get_employee(self, employee_id: str) -> HrRecord:
        self._call("get_employee", employee_id)
        if employee_id not in self.records:
            raise EmployeeNotFound(f"employee {employee_id} not found (HTTP 404)")
        return HrRecord(employee_id, dict(self.records[employee_id]))

    async def update_employee(self, employee_id: str, fields: dict[str, str]) -> None:
        self._call("update_employee", (employee_id, fields))
        self.updates.append((employee_id, dict(fields)))
        self.records.setdefault(employee_id, {}).update(fields)


def deps(tmp_path: Path, provider: FakeProvider | None = None, dms: FakeDms | None = None,
         hr: FakeHr | None = None) -> SimpleNamespace:  # fmt: skip
    return SimpleNamespace(
        provider=provider or FakeProvider(),
        dms=dms or FakeDms(),
        hr=hr or FakeHr(),
        hr_settings=BambooHrSettings(),
        provider_settings=ProviderSettings(callback_url="https://bridge.test/webhooks/contractize",
                                           initiated_by="HR_TEST"),  # fmt: skip
        dms_settings=DmsSettings(root=tmp_path / "dms", max_document_bytes=1_000_000),
        pii=PiiSettings(),
    )
