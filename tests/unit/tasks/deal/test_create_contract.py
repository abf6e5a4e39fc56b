"""deal.create-contract: one contract per deal. The deal id is the external id, looked up before creating,
so a retried job, a re-delivered job or the same deal closed twice land on the first contract (fake
SpotDraft and CRM)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.errors import BusinessError, ContractDataInvalid, TransientError
from workers.providers.base import ProviderAuthError, ProviderRateLimited, ProviderRejected, ProviderUnavailable
from workers.tasks.deal import create_contract
from workers.tasks.deal.create_contract import CreateContractInput, handle
from workers.tasks.runtime import Fail, Throw, decide

from .fakes import MSA_DATA, FakeCrm, FakeSpotDraft, assert_no_personal_data, deps, job, zeebe_job


def given(deal_id: str = "1001", **variables: object) -> CreateContractInput:
    return CreateContractInput.model_validate({"dealId": deal_id, **variables})


async def test_a_new_deal_gets_one_contract_built_from_the_crm_records(tmp_path: Path) -> None:
    spotdraft = FakeSpotDraft()
    out = await handle(given(), job(), deps(tmp_path, spotdraft))

    assert spotdraft.called("find_by_external_id") == ["1001"]
    (request,) = spotdraft.called("create_contract")
    assert (request.template_id, request.external_id) == (101, "1001")
    assert request.contract_data == MSA_DATA
    assert request.contract_name == "Northwind Supply - annual supply agreement"
    (party,) = request.counterparties
    assert party.to_json() == {"is_individual": False, "organization_name": "Northwind Supply GmbH",
                               "poc_details": {"first_name": "Ines", "last_name": "Alvarez",
                                               "email": "ines.alvarez@example.com"}}  # fmt: skip
    assert (out.contract_id, out.spotdraft_contract_id, out.contract_status) == ("T-5001", "5001", "DRAFT")
    assert out.contract_link == "https://app.spotdraft.test/contracts/v2/5001" and not out.contract_existed
    assert_no_personal_data(out)


async def test_a_deal_that_has_its_contract_gets_none_and_the_crm_is_not_asked(tmp_path: Path) -> None:
    spotdraft, crm = FakeSpotDraft(), FakeCrm()
    spotdraft.add("1001", status="EXECUTED")
    out = await handle(given(), job(), deps(tmp_path, spotdraft, crm))
    assert spotdraft.called("create_contract") == [] and crm.calls == []
    assert (out.contract_id, out.contract_status, out.contract_existed) == ("T-5001", "EXECUTED", True)


async def test_a_retry_after_a_lost_answer_finds_the_first_contract(tmp_path: Path) -> None:
    spotdraft = FakeSpotDraft(fail_after_create=ProviderUnavailable("SpotDraft at sd.test unavailable: timed out"))
    d = deps(tmp_path, spotdraft)
    with pytest.raises(TransientError):
        await handle(given(), job(key=1), d)
    out = await handle(given(), job(key=2), d)
    assert len(spotdraft.called("create_contract")) == 1 and out.contract_id == "T-5001" and out.contract_existed


async def test_the_same_deal_closed_twice_makes_one_contract_a_voided_one_does_not_count(tmp_path: Path) -> None:
    spotdraft = FakeSpotDraft()
    d = deps(tmp_path, spotdraft)
    first = await handle(given(), job(process_instance_key=1), d)
    second = await handle(given(), job(process_instance_key=2), d)
    assert first.contract_id == second.contract_id and len(spotdraft.called("create_contract")) == 1
    spotdraft.set_status(first.contract_id, "VOIDED")
    third = await handle(given(), job(process_instance_key=3), d)
    assert third.contract_id == "T-5002" and not third.contract_existed


async def test_an_unknown_template_is_template_not_found_naming_it(tmp_path: Path) -> None:
    command = await decide(create_contract.SPEC, zeebe_job("deal.create-contract", {"dealId": "1001",
                                                                                   "templateId": 999}),
                           deps(tmp_path))  # fmt: skip
    assert isinstance(command, Throw) and command.code == "TEMPLATE_NOT_FOUND"
    error = command.variables["contractError"]
    assert "999" in error["message"] and error["fields"] == ["templateId"]
    assert_no_personal_data(command.message, command.variables)


async def test_data_spotdraft_rejects_is_contract_data_invalid_naming_its_fields(tmp_path: Path) -> None:
    rejected = ProviderRejected("SpotDraft at sd.test rejected the contract data for template 101 (HTTP 400); "
                                "fields: contract_data.term", fields=["contract_data.term"])  # fmt: skip
    spotdraft = FakeSpotDraft(fail={"create_contract": [rejected]})
    with pytest.raises(ContractDataInvalid) as info:
        await handle(given(), job(), deps(tmp_path, spotdraft))
    assert info.value.fields == ["contract_data.term"]
    assert_no_personal_data(info.value.message)


async def test_the_deal_data_is_checked_before_anything_is_created(tmp_path: Path) -> None:
    spotdraft = FakeSpotDraft()
    with pytest.raises(ContractDataInvalid) as info:
        await handle(given("1003"), job(), deps(tmp_path, spotdraft))
    assert info.value.fields == ["contact.email"] and spotdraft.called("create_contract") == []
    with pytest.raises(BusinessError) as unknown:
        await handle(given("4040"), job(), deps(tmp_path, spotdraft))
    assert unknown.value.code == "DEAL_NOT_FOUND"


async def test_a_429_is_waited_out_and_a_5xx_retried(tmp_path: Path) -> None:
    spotdraft = FakeSpotDraft(fail={"create_contract": [ProviderRateLimited("HTTP 429", 0.0)]})
    out = await handle(given(), job(), deps(tmp_path, spotdraft))
    assert out.contract_id == "T-5001" and len(spotdraft.called("create_contract")) == 2

    spotdraft = FakeSpotDraft(fail={"find_by_external_id": [ProviderRateLimited("HTTP 429", 999.0)]})
    with pytest.raises(TransientError) as info:
        await handle(given(), job(seconds_left=30), deps(tmp_path, spotdraft))
    assert not info.value.spend_retry  # handed back with its retries

    spotdraft = FakeSpotDraft(fail={"create_contract": [ProviderUnavailable("SpotDraft at sd.test: HTTP 503")]})
    command = await decide(create_contract.SPEC, zeebe_job("deal.create-contract", {"dealId": "1001"}),
                           deps(tmp_path, spotdraft))  # fmt: skip
    assert isinstance(command, Fail) and command.retries == 2 and "HTTP 503" in command.message


async def test_refused_credentials_say_what_to_check_for_spotdraft(tmp_path: Path) -> None:
    refused = ProviderAuthError("SpotDraft at sd.test refused the credentials (HTTP 401); check SPOTDRAFT_CLIENT_ID")
    spotdraft = FakeSpotDraft(fail={"find_by_external_id": [refused]})
    with pytest.raises(TransientError) as info:
        await handle(given(), job(), deps(tmp_path, spotdraft))
    assert "SPOTDRAFT_CLIENT_ID" in info.value.message and "CONTRACTIZE" not in info.value.message


async def test_an_unknown_provider_plug_in_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ContractDataInvalid) as info:
        await handle(given(provider="docusign"), job(), deps(tmp_path))
    assert info.value.fields == ["provider"]
