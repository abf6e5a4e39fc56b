"""contract.generate: find-then-create with an idempotency key per process instance and template, so a
retried or re-delivered job maps onto the document the first attempt created (fake provider)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.errors import TransientError
from workers.providers.base import Document, ProviderUnavailable
from workers.tasks.generate import GenerateInput, handle, idempotency_key

from .fakes import FakeProvider, deps, job

REQUEST = {
    "contractRequest": {
        "templateId": "nda-001",
        "templateVersion": "3",
        "data": {"employee_name": "Grace Hopper"},
        "metadata": {"request_id": "E-1", "initiated_by": "HR_TEST", "template_version": "3"},
    }
}


def given() -> GenerateInput:
    return GenerateInput.model_validate(REQUEST)


def test_the_key_names_the_instance_and_template_and_ignores_the_job() -> None:
    first = idempotency_key(job(process_instance_key=11, key=1), "nda-001")
    assert first == "cw-11-nda-001"
    assert idempotency_key(job(process_instance_key=11, key=2), "nda-001") == first  # a retry or re-delivery
    assert idempotency_key(job(process_instance_key=12, key=1), "nda-001") != first
    assert idempotency_key(job(process_instance_key=11, key=1), "nda-002") != first


async def test_a_new_instance_creates_one_document_with_its_key(tmp_path: Path) -> None:
    provider = FakeProvider()
    out = await handle(given(), job(process_instance_key=11), deps(tmp_path, provider))

    assert provider.called("find_by_idempotency_key") == ["cw-11-nda-001"]
    (request,) = provider.called("generate")
    assert request.idempotency_key == "cw-11-nda-001"
    assert request.template_id == "nda-001"
    assert request.data == {"employee_name": "Grace Hopper"}
    assert request.metadata == REQUEST["contractRequest"]["metadata"]
    assert request.callback_url == "https://bridge.test/webhooks/contractize"
    assert (out.doc_id, out.contract_status, out.template_id) == ("doc-1", "processing", "nda-001")


async def test_an_existing_document_is_returned_and_generate_is_not_called(tmp_path: Path) -> None:
    existing = Document("doc-7", "ready", "nda-001")
    provider = FakeProvider(documents={"doc-7": existing}, by_key={"cw-11-nda-001": "doc-7"})

    out = await handle(given(), job(process_instance_key=11), deps(tmp_path, provider))

    assert provider.called("generate") == []
    assert (out.doc_id, out.contract_status) == ("doc-7", "ready")


async def test_a_retry_after_a_lost_answer_finds_the_first_document(tmp_path: Path) -> None:
    # The provider creates the document, but its answer is lost (timeout): the job fails and is retried.
    provider = FakeProvider(fail_after_generate=ProviderUnavailable("contract provider timed out"))
    d = deps(tmp_path, provider)
    with pytest.raises(TransientError):
        await handle(given(), job(process_instance_key=11, key=1), d)

    out = await handle(given(), job(process_instance_key=11, key=2), d)

    assert len(provider.called("generate")) == 1
    assert list(provider.documents) == ["doc-1"]
    assert out.doc_id == "doc-1"


async def test_other_instances_get_their_own_documents(tmp_path: Path) -> None:
    provider = FakeProvider()
    d = deps(tmp_path, provider)
    first = await handle(given(), job(process_instance_key=11), d)
    second = await handle(given(), job(process_instance_key=12), d)
    assert first.doc_id != second.doc_id
    assert sorted(provider.by_key) == ["cw-11-nda-001", "cw-12-nda-001"]


async def test_a_failed_lookup_creates_nothing(tmp_path: Path) -> None:
    provider = FakeProvider(fail={"find_by_idempotency_key": [ProviderUnavailable("HTTP 503")]})
    with pytest.raises(TransientError):
        await handle(given(), job(), deps(tmp_path, provider))
    assert provider.called("generate") == []
