"""contract.generate: one document per employee and template. The external id is the business key, looked
up before creating, so a retried job, a re-delivered job or a second instance for the same hire all land
on the first document (fake HR and provider)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.errors import BusinessError, ContractDataInvalid, TransientError
from workers.providers.base import Document, ProviderUnavailable
from workers.tasks.generate import GenerateInput, external_id, handle

from .fakes import GRACE, FakeHr, FakeProvider, deps, job


def given(employee_id: str = "E-4242", **variables: object) -> GenerateInput:
    return GenerateInput.model_validate({"employeeId": employee_id, **variables})


def test_the_external_id_is_the_business_key() -> None:
    assert external_id("E-4242", "nda-001") == "cw-emp-E-4242-nda-001"
    assert external_id("E-4242", "nda-002") != external_id("E-4242", "nda-001")
    assert external_id("E-4243", "nda-001") != external_id("E-4242", "nda-001")


async def test_a_new_hire_gets_one_document_built_from_the_hr_record(tmp_path: Path) -> None:
    provider = FakeProvider()
    out = await handle(given(), job(process_instance_key=11), deps(tmp_path, provider))

    assert provider.called("find_by_idempotency_key") == ["cw-emp-E-4242-nda-001"]
    (request,) = provider.called("generate")
    assert request.idempotency_key == "cw-emp-E-4242-nda-001"
    assert request.data == {"employee_name": "Grace Hopper", "employee_email": "grace.hopper@example.com",
                            "start_date": "2027-01-04", "confidentiality_level": "high",
                            "job_title": "Rear Admiral"}  # fmt: skip
    assert "homeAddress" not in str(request.data) and GRACE["homeAddress"] not in str(request.data)
    assert request.metadata == {"request_id": "E-4242", "initiated_by": "HR_TEST", "template_version": "3"}
    assert request.callback_url == "https://bridge.test/webhooks/contractize"
    assert (out.doc_id, out.contract_status, out.document_existed) == ("doc-1", "processing", False)


async def test_an_employee_who_holds_the_nda_gets_none_and_hr_is_not_asked(tmp_path: Path) -> None:
    provider = FakeProvider(documents={"doc-7": Document("doc-7", "ready", "nda-001")},
                            by_key={"cw-emp-E-4242-nda-001": "doc-7"})  # fmt: skip
    hr = FakeHr()
    out = await handle(given(), job(process_instance_key=99), deps(tmp_path, provider, hr=hr))

    assert provider.called("generate") == []
    assert hr.called("get_employee") == []
    assert (out.doc_id, out.contract_status, out.document_existed) == ("doc-7", "ready", True)


async def test_a_retry_after_a_lost_answer_finds_the_first_document(tmp_path: Path) -> None:
    provider = FakeProvider(fail_after_generate=ProviderUnavailable("contract provider timed out"))
    d = deps(tmp_path, provider)
    with pytest.raises(TransientError):
        await handle(given(), job(process_instance_key=11, key=1), d)

    out = await handle(given(), job(process_instance_key=11, key=2), d)

    assert len(provider.called("generate")) == 1 and out.doc_id == "doc-1" and out.document_existed


async def test_a_second_instance_for_the_same_hire_finds_the_first_document(tmp_path: Path) -> None:
    provider = FakeProvider()
    d = deps(tmp_path, provider)
    first = await handle(given(), job(process_instance_key=11), d)
    second = await handle(given(), job(process_instance_key=12), d)
    assert first.doc_id == second.doc_id and len(provider.called("generate")) == 1


async def test_other_employees_and_templates_get_their_own_documents(tmp_path: Path) -> None:
    hr = FakeHr(records={"E-4242": dict(GRACE), "E-4243": dict(GRACE)})
    provider = FakeProvider()
    d = deps(tmp_path, provider, hr=hr)
    await handle(given("E-4242"), job(), d)
    await handle(given("E-4243"), job(), d)
    assert sorted(provider.by_key) == ["cw-emp-E-4242-nda-001", "cw-emp-E-4243-nda-001"]


async def test_a_failed_lookup_creates_nothing(tmp_path: Path) -> None:
    provider = FakeProvider(fail={"find_by_idempotency_key": [ProviderUnavailable("HTTP 503")]})
    with pytest.raises(TransientError):
        await handle(given(), job(), deps(tmp_path, provider))
    assert provider.called("generate") == []


async def test_data_that_went_bad_since_the_check_is_still_refused(tmp_path: Path) -> None:
    hr = FakeHr(records={"E-4242": {**GRACE, "email": None}})
    provider = FakeProvider()
    with pytest.raises(ContractDataInvalid) as info:
        await handle(given(), job(), deps(tmp_path, provider, hr=hr))
    assert info.value.fields == ["employee_email"] and provider.called("generate") == []


async def test_an_employee_removed_from_hr_since_the_check_is_a_named_bpmn_error(tmp_path: Path) -> None:
    with pytest.raises(BusinessError) as info:
        await handle(given("E-0000"), job(), deps(tmp_path))
    assert info.value.code == "EMPLOYEE_NOT_FOUND"
