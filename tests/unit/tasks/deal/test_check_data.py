"""deal.check-data: the deal, its contact and company fetched by id and checked; the output is field names
and record ids only, and the BPMN errors name CRM properties (fake CRM; ``runtime.decide`` for the command
Zeebe would get)."""

from __future__ import annotations

from pathlib import Path

from workers.crm.base import CrmRateLimited, CrmUnavailable
from workers.tasks.deal import check_data
from workers.tasks.deal.check_data import CheckDataInput, handle
from workers.tasks.runtime import Complete, Fail, Throw, decide

from .fakes import FakeCrm, FakeSpotDraft, assert_no_personal_data, deps, job, zeebe_job


async def test_a_complete_deal_names_the_fields_it_fills_and_the_records_used(tmp_path: Path) -> None:
    spotdraft = FakeSpotDraft()
    out = await handle(CheckDataInput.model_validate({"dealId": "1001"}), job(), deps(tmp_path, spotdraft))
    assert out.contract_fields == ["contract_value", "customer_name", "effective_date", "term"]
    assert (out.contact_id, out.company_id) == ("201", "301")
    assert spotdraft.calls == []  # nothing is created here
    assert_no_personal_data(out)


async def test_the_command_carries_only_names_and_ids(tmp_path: Path) -> None:
    command = await decide(check_data.SPEC, zeebe_job("deal.check-data", {"dealId": "1001"}), deps(tmp_path))
    assert isinstance(command, Complete)
    assert command.variables == {"contractFields": ["contract_value", "customer_name", "effective_date", "term"],
                                 "contactId": "201", "companyId": "301"}  # fmt: skip


async def test_a_deal_without_amount_is_contract_data_invalid_naming_deal_amount(tmp_path: Path) -> None:
    command = await decide(check_data.SPEC, zeebe_job("deal.check-data", {"dealId": "1002"}), deps(tmp_path))
    assert isinstance(command, Throw) and command.code == "CONTRACT_DATA_INVALID"
    error = command.variables["contractError"]
    assert error["fields"] == ["deal.amount"] and "deal 1002" in error["message"]
    assert "Harbor" not in str(command) and "tobias" not in str(command).lower()


async def test_a_contact_without_email_names_contact_email(tmp_path: Path) -> None:
    command = await decide(check_data.SPEC, zeebe_job("deal.check-data", {"dealId": "1003"}), deps(tmp_path))
    assert isinstance(command, Throw) and command.variables["contractError"]["fields"] == ["contact.email"]
    assert_no_personal_data(command.message, command.variables)


async def test_an_unknown_deal_is_deal_not_found(tmp_path: Path) -> None:
    command = await decide(check_data.SPEC, zeebe_job("deal.check-data", {"dealId": "4040"}), deps(tmp_path))
    assert isinstance(command, Throw) and command.code == "DEAL_NOT_FOUND"


async def test_a_deal_id_that_cannot_be_one_is_refused_before_any_call(tmp_path: Path) -> None:
    crm = FakeCrm()
    command = await decide(check_data.SPEC, zeebe_job("deal.check-data", {"dealId": "Northwind Supply"}),
                           deps(tmp_path, crm=crm))  # fmt: skip
    assert isinstance(command, Throw) and command.variables["contractError"]["fields"] == ["dealId"]
    assert "Northwind" not in command.message and crm.calls == []


async def test_a_crm_rate_limit_is_waited_out_and_an_outage_retried(tmp_path: Path) -> None:
    crm = FakeCrm(fail={"get_contact": [CrmRateLimited("HTTP 429", 0.0)]})
    out = await handle(CheckDataInput.model_validate({"dealId": "1001"}), job(), deps(tmp_path, crm=crm))
    assert out.contact_id == "201" and len(crm.called("get_contact")) == 2

    crm = FakeCrm(fail={"get_deal": [CrmUnavailable("HubSpot at crm.test unavailable: HTTP 502")]})
    command = await decide(check_data.SPEC, zeebe_job("deal.check-data", {"dealId": "1001"}), deps(tmp_path, crm=crm))
    assert isinstance(command, Fail) and command.retries == 2 and "HTTP 502" in command.message
