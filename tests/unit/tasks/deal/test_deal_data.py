"""deal_data and crm_errors: the declared mapping deal + contact + company -> SpotDraft contract_data and
counterparty (faults named by CRM property, never a value), the records fetched by id, and CRM failures
mapped like the HR system's (fake CRM, no HTTP)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.crm.base import CrmAuthError, CrmObject, CrmRateLimited, CrmRejected, CrmUnavailable, Deal, DealNotFound
from workers.errors import BusinessError, ContractDataInvalid, TransientError
from workers.tasks.deal.crm_errors import DEAL_NOT_FOUND, call_crm
from workers.tasks.deal.deal_data import FIELD_SOURCES, DealRecords, DealRef, contract_draft, map_deal

from .fakes import MSA_DATA, PERSONAL, FakeCrm, deps, job

REF = DealRef.model_validate({"dealId": "1001"})
DEAL = {"dealname": "Northwind Supply - annual", "amount": "48000", "deal_currency_code": "EUR",
        "closedate": "2026-06-30"}  # fmt: skip
CONTACT = {"firstname": "Ines", "lastname": "Alvarez", "email": "ines.alvarez@example.com"}


def records(deal: dict | None = None, contact: dict | None = CONTACT, company: dict | None = None,
            with_company: bool = True) -> DealRecords:  # fmt: skip
    return DealRecords(
        Deal("1001", {**DEAL, **(deal or {})}),
        CrmObject("201", dict(contact)) if contact is not None else None,
        CrmObject("301", {"name": "Northwind Supply GmbH", **(company or {})}) if with_company else None,
    )


def fault(**kwargs) -> ContractDataInvalid:
    with pytest.raises(ContractDataInvalid) as info:
        map_deal(REF, records(**kwargs))
    return info.value


def test_a_complete_deal_maps_onto_the_msa_and_an_organization_counterparty() -> None:
    draft = map_deal(REF, records())
    assert draft.contract_data == MSA_DATA
    assert set(draft.contract_data) == set(FIELD_SOURCES)
    party = draft.counterparty
    assert (party.is_individual, party.organization_name) == (False, "Northwind Supply GmbH")
    assert (party.first_name, party.last_name, party.email) == ("Ines", "Alvarez", "ines.alvarez@example.com")
    assert (draft.contract_name, draft.contact_id, draft.company_id) == ("Northwind Supply - annual", "201", "301")
    assert "Ines" not in repr(draft) and "Northwind" not in repr(draft)


def test_a_deal_without_company_is_an_individual_named_after_its_contact() -> None:
    draft = map_deal(REF, records(with_company=False))
    assert draft.contract_data["customer_name"] == "Ines Alvarez"
    assert draft.counterparty.is_individual and draft.counterparty.organization_name is None
    assert draft.company_id is None


@pytest.mark.parametrize(("closedate", "expected"), [
    ("2026-06-30T00:00:00Z", "2026-06-30"),
    ("2026-06-30T23:59:59.123+02:00", "2026-06-30"),
    ("1782777600000", "2026-06-30"),  # epoch milliseconds (UTC)
])
def test_the_close_date_gives_its_date_part(closedate: str, expected: str) -> None:
    assert map_deal(REF, records({"closedate": closedate})).contract_data["effective_date"] == expected


def test_amount_currency_and_term_are_typed_as_spotdraft_wants_them() -> None:
    ref = DealRef.model_validate({"dealId": "1001", "termMonths": 36})
    data = map_deal(ref, records({"amount": " 1250.5 ", "deal_currency_code": "gbp"})).contract_data
    assert data["contract_value"] == {"type": "GBP", "value": 1250.5}
    assert data["term"] == {"type": "MONTHS", "value": 36}


@pytest.mark.parametrize(("change", "fields"), [
    ({"deal": {"amount": None}}, ["deal.amount"]),
    ({"deal": {"amount": "  "}}, ["deal.amount"]),
    ({"deal": {"amount": "48k"}}, ["deal.amount"]),
    ({"deal": {"amount": "-5"}}, ["deal.amount"]),
    ({"deal": {"amount": "nan"}}, ["deal.amount"]),
    ({"deal": {"deal_currency_code": "EURO"}}, ["deal.deal_currency_code"]),
    ({"deal": {"deal_currency_code": None}}, ["deal.deal_currency_code"]),
    ({"deal": {"closedate": "30.06.2026"}}, ["deal.closedate"]),
    ({"deal": {"closedate": "2026-02-30"}}, ["deal.closedate"]),
    ({"deal": {"closedate": None}}, ["deal.closedate"]),
    ({"contact": {"firstname": "Mei", "lastname": "Nakamura"}}, ["contact.email"]),
    ({"contact": {**CONTACT, "email": "ines.alvarez at example"}}, ["contact.email"]),
    ({"contact": {"lastname": "Alvarez", "email": "ines.alvarez@example.com"}}, ["contact.firstname"]),
    ({"contact": None}, ["deal.contacts"]),
    ({"company": {"name": ""}}, ["company.name"]),
    ({"deal": {"amount": None, "closedate": "x"}, "contact": {"firstname": "Mei"}},
     ["contact.email", "deal.amount", "deal.closedate"]),
])
def test_missing_or_mistyped_data_names_the_crm_side_never_the_value(change: dict, fields: list[str]) -> None:
    error = fault(**change)
    assert error.code == "CONTRACT_DATA_INVALID" and error.fields == fields
    assert all(f in error.message for f in fields)
    for value in (*PERSONAL, "ines.alvarez at example", "48k", "EURO", "30.06.2026", "Northwind"):
        assert value not in error.message


def test_an_optional_deal_name_and_last_name_may_be_missing() -> None:
    draft = map_deal(REF, records({"dealname": None}, contact={"firstname": "Ines", "email": "i@example.com"}))
    assert draft.contract_name is None and draft.counterparty.last_name == ""


async def test_the_records_are_fetched_by_id_with_only_the_properties_mapped(tmp_path: Path) -> None:
    crm = FakeCrm()
    draft = await contract_draft(deps(tmp_path, crm=crm), REF, job())
    assert crm.called("get_deal") == [("1001", ["dealname", "amount", "deal_currency_code", "closedate"])]
    assert crm.called("get_contact") == [("201", ["firstname", "lastname", "email"])]
    assert crm.called("get_company") == [("301", ["name"])]
    assert draft.contract_data == MSA_DATA


@pytest.mark.parametrize("missing", ["deal", "contact", "company"])
async def test_a_record_the_crm_does_not_know_is_deal_not_found(tmp_path: Path, missing: str) -> None:
    crm = FakeCrm()
    if missing == "deal":
        ref = DealRef.model_validate({"dealId": "9999"})
    else:
        ref = REF
        getattr(crm, "contacts" if missing == "contact" else "companies").clear()
    with pytest.raises(BusinessError) as info:
        await contract_draft(deps(tmp_path, crm=crm), ref, job())
    assert info.value.code == DEAL_NOT_FOUND and missing in info.value.message


def test_the_sandbox_seeds_1002_and_1003_are_refused_by_name() -> None:
    crm = FakeCrm()
    for deal_id, fields in (("1002", ["deal.amount"]), ("1003", ["contact.email"])):
        deal = crm.deals[deal_id]
        contact = crm.contacts[deal["contacts"][0]]
        company = crm.companies[deal["companies"][0]]
        with pytest.raises(ContractDataInvalid) as info:
            map_deal(DealRef.model_validate({"dealId": deal_id}),
                     DealRecords(Deal(deal_id, dict(deal["properties"])), CrmObject("c", dict(contact)),
                                 CrmObject("o", dict(company))))  # fmt: skip
        assert info.value.fields == fields


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def test_call_crm_waits_out_a_429_then_succeeds() -> None:
    attempts = iter([CrmRateLimited("HTTP 429", 4.0), None])

    async def call() -> str:
        error = next(attempts)
        if error:
            raise error
        return "deal"

    sleeps = Sleeps()
    assert await call_crm(call, job(), "fetching deal 1001", sleep=sleeps) == "deal"
    assert sleeps.waits == [4.0]


async def test_call_crm_hands_a_long_429_back_without_spending_a_retry() -> None:
    async def call() -> None:
        raise CrmRateLimited("HTTP 429", 999.0)

    with pytest.raises(TransientError) as info:
        await call_crm(call, job(seconds_left=30), "fetching deal 1001", sleep=Sleeps())
    assert not info.value.spend_retry and info.value.retry_after == 300


@pytest.mark.parametrize(("error", "expected"), [
    (CrmAuthError("HTTP 401"), "HUBSPOT_ACCESS_TOKEN"),
    (CrmRejected("HTTP 400", ["contract_value", "contract_term"]), "contract_value, contract_term"),
    (CrmUnavailable("HubSpot at crm.test unavailable: HTTP 503"), "HTTP 503"),
])
async def test_call_crm_maps_refusals_and_outages_to_retries(error: Exception, expected: str) -> None:
    async def call() -> None:
        raise error

    with pytest.raises(TransientError) as info:
        await call_crm(call, job(), "updating deal 1001")
    assert expected in info.value.message and info.value.spend_retry


async def test_call_crm_maps_an_unknown_deal_to_a_bpmn_error() -> None:
    async def call() -> None:
        raise DealNotFound("HubSpot at crm.test has no deal '77' (HTTP 404)")

    with pytest.raises(BusinessError) as info:
        await call_crm(call, job(), "fetching deal 77")
    assert info.value.code == "DEAL_NOT_FOUND" and "'77'" in info.value.message
