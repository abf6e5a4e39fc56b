"""contract.upload-dms: the filename from data (sanitised), the found-in-DMS short-circuit, and DMS or
download failures as TransientError (fake provider and DMS; the real size-capped spool)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from workers.dms.base import DmsRejected, DmsUnavailable, StoredDocument
from workers.errors import TransientError
from workers.providers.base import DocumentNotFound, ProviderUnavailable
from workers.tasks.upload_dms import UploadInput, _filename, handle

from .fakes import PDF, FakeDms, FakeProvider, deps, job

METADATA = {"request_id": "E-100", "template_id": "nda-001", "employee_name": "Grace Hopper"}


def given(doc_id: str = "doc-1", metadata: dict[str, str] | None = None) -> UploadInput:
    return UploadInput.model_validate({"docId": doc_id, "dmsMetadata": metadata or METADATA})


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({"request_id": "E-100", "template_id": "nda-001"}, "E-100_NDA.pdf"),
        ({"request_id": "E_7", "template_id": "msa-2024-v2"}, "E_7_MSA.pdf"),
        ({"request_id": "../../etc/passwd", "template_id": "nda-001"}, "etcpasswd_NDA.pdf"),
        ({"request_id": "E 1/2;rm -rf", "template_id": "nda-001"}, "E12rm-rf_NDA.pdf"),
        ({"request_id": "E-1\x00.exe", "template_id": "nda-001"}, "E-1exe_NDA.pdf"),
        ({"request_id": "", "template_id": "nda-001"}, "contract_NDA.pdf"),
        ({"request_id": "/..", "template_id": "nda-001"}, "contract_NDA.pdf"),
        ({"template_id": "nda-001"}, "contract_NDA.pdf"),
        ({"request_id": "E-1"}, "E-1_CONTRACT.pdf"),
        ({"request_id": "E-1", "template_id": "../x/nda-001"}, "E-1_XNDA.pdf"),
        ({"request_id": "E-1", "template_id": "/-001"}, "E-1_CONTRACT.pdf"),
        ({"request_id": "É-1", "template_id": "nda-001"}, "-1_NDA.pdf"),
    ],
)
def test_filename_keeps_only_safe_characters(metadata: dict[str, str], expected: str) -> None:
    name = _filename(metadata)
    assert name == expected
    assert "/" not in name and "\\" not in name and "\x00" not in name and not name.startswith(".")


async def test_downloads_and_stores_with_the_pruned_metadata_and_hash(tmp_path: Path) -> None:
    provider, dms = FakeProvider(), FakeDms()
    out = await handle(given(), job(), deps(tmp_path, provider, dms))

    assert provider.called("download") == ["doc-1"]
    (stored,) = dms.called("store")
    sha = hashlib.sha256(PDF).hexdigest()
    assert stored["key"] == "doc-1"
    assert stored["filename"] == "E-100_NDA.pdf"
    assert stored["content_type"] == "application/pdf"
    assert stored["content"] == PDF
    assert stored["metadata"] == {**METADATA, "sha256": sha}
    assert not stored["path"].exists()  # the spool file is removed afterwards
    assert out.dms_location == "fake://doc-1/E-100_NDA.pdf"
    assert out.dms_document.model_dump() == {"document_key": "doc-1", "location": "fake://doc-1/E-100_NDA.pdf",
                                             "size": len(PDF), "sha256": sha, "already_existed": False}  # fmt: skip


async def test_a_document_already_in_the_dms_is_reported_without_downloading(tmp_path: Path) -> None:
    provider = FakeProvider()
    dms = FakeDms(stored={"doc-1": StoredDocument("doc-1", "fake://doc-1/E-100_NDA.pdf", 10, "ab" * 32)})
    out = await handle(given(), job(), deps(tmp_path, provider, dms))

    assert provider.called("download") == []
    assert dms.called("store") == []
    assert out.dms_document.already_existed is True
    assert out.dms_location == "fake://doc-1/E-100_NDA.pdf"


async def test_a_retried_job_finds_what_the_first_attempt_stored(tmp_path: Path) -> None:
    provider, dms = FakeProvider(), FakeDms()
    d = deps(tmp_path, provider, dms)
    first = await handle(given(), job(key=1), d)
    second = await handle(given(), job(key=2), d)
    assert len(dms.called("store")) == 1 and len(provider.called("download")) == 1
    assert (first.dms_document.already_existed, second.dms_document.already_existed) == (False, True)
    assert second.dms_location == first.dms_location


@pytest.mark.parametrize(
    ("method", "error", "expected"),
    [
        ("find", DmsUnavailable("HTTP 503"), "DMS (fake-dms) unavailable: HTTP 503"),
        ("store", DmsUnavailable("connection refused"), "DMS (fake-dms) unavailable: connection refused"),
        ("store", DmsRejected("HTTP 413"), "DMS (fake-dms) refused document doc-1: HTTP 413"),
    ],
)
async def test_dms_errors_become_transient_errors(tmp_path: Path, method: str, error: Exception, expected: str) -> None:
    dms = FakeDms(fail={method: [error]})
    with pytest.raises(TransientError) as info:
        await handle(given(), job(), deps(tmp_path, FakeProvider(), dms))
    assert info.value.message == expected
    assert info.value.spend_retry is True
    for call in dms.called("store"):
        assert not call["path"].exists()  # no spool file left behind on failure


@pytest.mark.parametrize("error", [ProviderUnavailable("HTTP 502"), DocumentNotFound("no such document")])
async def test_download_failures_become_transient_errors(tmp_path: Path, error: Exception) -> None:
    provider = FakeProvider(fail={"download": [error]})
    dms = FakeDms()
    with pytest.raises(TransientError) as info:
        await handle(given(), job(), deps(tmp_path, provider, dms))
    assert "doc-1" in info.value.message
    assert dms.called("store") == []


async def test_a_document_over_the_size_cap_is_not_stored(tmp_path: Path) -> None:
    provider, dms = FakeProvider(content=PDF * 1000), FakeDms()  # over the fakes' 1 MB cap
    with pytest.raises(TransientError):
        await handle(given(), job(), deps(tmp_path, provider, dms))
    assert dms.called("store") == []


# -- employee-nda v2: the metadata is decided inside the task from the HR record (claim check) ---------


def by_id(doc_id: str = "doc-1", employee_id: str = "E-4242") -> UploadInput:
    return UploadInput.model_validate({"docId": doc_id, "employeeId": employee_id, "templateId": "nda-001"})


async def test_the_metadata_is_pruned_from_the_hr_record_fetched_by_id(tmp_path: Path) -> None:
    from .fakes import GRACE, FakeHr

    hr, dms = FakeHr(), FakeDms()
    out = await handle(by_id(), job(), deps(tmp_path, dms=dms, hr=hr))

    assert hr.called("get_employee") == ["E-4242"]
    (stored,) = dms.called("store")
    metadata = stored["metadata"]
    # PiiSettings' default allow-list for nda-001: employee_name, start_date, confidentiality_level.
    assert {k: metadata[k] for k in ("employee_name", "start_date", "confidentiality_level")} == {
        "employee_name": "Grace Hopper", "start_date": "2027-01-04", "confidentiality_level": "high"}  # fmt: skip
    assert metadata["request_id"] == "E-4242" and metadata["doc_id"] == "doc-1"
    assert GRACE["email"] not in metadata.values() and GRACE["homeAddress"] not in metadata.values()
    assert stored["filename"] == "E-4242_NDA.pdf"
    assert out.dropped_fields == ["employee_email", "job_title"]
    assert "Grace" not in out.model_dump_json(by_alias=True)


async def test_an_employee_gone_from_hr_is_filed_with_our_ids_only(tmp_path: Path) -> None:
    dms = FakeDms()
    await handle(by_id(employee_id="E-0000"), job(), deps(tmp_path, dms=dms))
    (stored,) = dms.called("store")
    # confidentiality_level is the instance's choice, not the record's
    assert set(stored["metadata"]) == {"request_id", "initiated_by", "template_version", "template_id", "doc_id",
                                       "sha256", "confidentiality_level"}  # fmt: skip


async def test_a_document_already_filed_needs_no_hr_record(tmp_path: Path) -> None:
    from .fakes import FakeHr

    hr = FakeHr()
    dms = FakeDms(stored={"doc-1": StoredDocument("doc-1", "fake://doc-1/x.pdf", 3, "abc")})
    out = await handle(by_id(), job(), deps(tmp_path, dms=dms, hr=hr))
    assert out.dms_document.already_existed and hr.called("get_employee") == []
