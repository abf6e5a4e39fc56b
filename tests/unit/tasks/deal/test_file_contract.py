"""deal.file-contract: the executed contract streamed into the DMS once (by composite contract id), named
from our ids, with our ids and the key data as metadata and nobody's details (fake SpotDraft and DMS; the
real size-capped spool)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from workers.dms.base import DmsRejected, DmsUnavailable, StoredDocument
from workers.errors import TransientError
from workers.providers.base import ProviderRateLimited, ProviderUnavailable
from workers.tasks.deal import file_contract
from workers.tasks.deal.file_contract import FileContractInput, filename, handle
from workers.tasks.runtime import Complete, Fail, decide

from ..fakes import PDF, FakeDms
from .fakes import FakeSpotDraft, assert_no_personal_data, deps, job, zeebe_job

KEY_DATA = {"effective_date": "2026-06-30", "contract_value": "48000.00 EUR", "term": "12 MONTHS"}
VARIABLES = {"contractId": "T-5001", "dealId": "1001", "contractKeyData": KEY_DATA}


def executed() -> FakeSpotDraft:
    spotdraft = FakeSpotDraft()
    spotdraft.add("1001", status="EXECUTED")
    return spotdraft


async def test_the_executed_contract_is_stored_with_our_ids_and_key_data(tmp_path: Path) -> None:
    spotdraft, dms = executed(), FakeDms()
    out = await handle(FileContractInput.model_validate(VARIABLES), job(), deps(tmp_path, spotdraft, dms=dms))

    assert spotdraft.called("download") == ["T-5001"]
    (stored,) = dms.called("store")
    sha = hashlib.sha256(PDF).hexdigest()
    assert (stored["key"], stored["filename"], stored["content_type"]) == ("T-5001", "1001_T-5001_CONTRACT.pdf",
                                                                           "application/pdf")  # fmt: skip
    assert stored["content"] == PDF
    assert stored["metadata"] == {**KEY_DATA, "deal_id": "1001", "contract_id": "T-5001", "provider": "spotdraft",
                                  "sha256": sha}  # fmt: skip
    assert not stored["path"].exists()  # the spool file is removed afterwards
    assert out.dms_location == "fake://T-5001/1001_T-5001_CONTRACT.pdf"
    assert (out.dms_document.document_key, out.dms_document.sha256, out.dms_document.already_existed) == (
        "T-5001", sha, False)  # fmt: skip
    assert_no_personal_data(out, stored["metadata"])


async def test_a_contract_already_in_the_dms_is_reported_not_downloaded(tmp_path: Path) -> None:
    spotdraft = executed()
    dms = FakeDms(stored={"T-5001": StoredDocument("T-5001", "fake://T-5001/x.pdf", 10, "ab" * 32)})
    command = await decide(file_contract.SPEC, zeebe_job("deal.file-contract", VARIABLES),
                           deps(tmp_path, spotdraft, dms=dms))  # fmt: skip
    assert isinstance(command, Complete)
    assert command.variables["dmsDocument"]["alreadyExisted"] is True
    assert command.variables["dmsLocation"] == "fake://T-5001/x.pdf"
    assert spotdraft.called("download") == [] and dms.called("store") == []


async def test_our_ids_win_and_odd_key_data_is_left_out(tmp_path: Path) -> None:
    dms = FakeDms()
    odd = {**KEY_DATA, "deal_id": "1002", "counter party": "x", "notes": "y" * 300}
    data = FileContractInput.model_validate({**VARIABLES, "contractKeyData": odd})
    await handle(data, job(), deps(tmp_path, executed(), dms=dms))
    (stored,) = dms.called("store")
    assert stored["metadata"]["deal_id"] == "1001"
    assert "counter party" not in stored["metadata"] and "notes" not in stored["metadata"]


@pytest.mark.parametrize(("deal_id", "contract_id", "expected"), [
    ("1001", "T-5001", "1001_T-5001_CONTRACT.pdf"),
    ("deal_7-a", "H-12", "deal_7-a_H-12_CONTRACT.pdf"),
])
def test_the_filename_comes_from_our_ids(deal_id: str, contract_id: str, expected: str) -> None:
    assert filename(deal_id, contract_id) == expected


async def test_a_download_that_is_not_a_pdf_is_refused_and_retried(tmp_path: Path) -> None:
    spotdraft, dms = executed(), FakeDms()
    spotdraft.content = b"<!doctype html><html>login</html>"
    with pytest.raises(TransientError) as info:
        await handle(FileContractInput.model_validate(VARIABLES), job(), deps(tmp_path, spotdraft, dms=dms))
    assert "not a PDF" in info.value.message and "login" not in info.value.message
    assert dms.called("store") == []


async def test_a_429_is_waited_out(tmp_path: Path) -> None:
    spotdraft = executed()
    spotdraft.fail["download"] = [ProviderRateLimited("HTTP 429", 0.0)]
    out = await handle(FileContractInput.model_validate(VARIABLES), job(), deps(tmp_path, spotdraft))
    assert out.dms_document.size == len(PDF) and len(spotdraft.called("download")) == 2


@pytest.mark.parametrize(("dms_fail", "provider_fail", "expected"), [
    (DmsUnavailable("HTTP 503"), None, "unavailable"),
    (DmsRejected("HTTP 413"), None, "refused contract T-5001"),
    (None, ProviderUnavailable("SpotDraft at sd.test: HTTP 502"), "HTTP 502"),
])
async def test_dms_and_download_failures_are_retried(tmp_path: Path, dms_fail, provider_fail, expected) -> None:
    spotdraft, dms = executed(), FakeDms()
    if dms_fail:
        dms.fail["find"] = [dms_fail]
    if provider_fail:
        spotdraft.fail["download"] = [provider_fail]
    command = await decide(file_contract.SPEC, zeebe_job("deal.file-contract", VARIABLES),
                           deps(tmp_path, spotdraft, dms=dms))  # fmt: skip
    assert isinstance(command, Fail) and expected in command.message and command.retries == 2
