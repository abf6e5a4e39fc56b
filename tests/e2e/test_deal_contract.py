"""The CRM deal flow on the real engine (issue 8): a HubSpot-style Closed-Won webhook starts
``deal-contract``; the contract is created at the SpotDraft sandbox (idempotent by the deal id), sent, signed
by the sandbox's counterparty, filed in the DMS and synced back to the CRM deal. Declined, reconciled,
duplicated/out-of-order webhooks, repeated closes, BPMN errors, bad signatures and 429 bursts too.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import SESSION_STARTED_MS
from tests.e2e.conftest import eventually
from tests.e2e.nda_env import NdaEnv, nda_env

pytestmark = pytest.mark.e2e

_counter = iter(range(1, 1000))


@pytest.fixture(scope="module")
async def env(zeebe_client, zeebe_address, tmp_path_factory):
    async with nda_env(zeebe_address, tmp_path_factory.mktemp("deal")) as env:
        yield env


@pytest.fixture(autouse=True)
async def clean_faults(env: NdaEnv):
    await env.spotdraft_control("POST", "/_sandbox/faults", {"webhook_enabled": True, "webhook_duplicates": 0,
                                                              "webhook_out_of_order": False, "rate_limit_next": 0})
    yield


async def new_deal(env: NdaEnv, **properties: str | None) -> str:
    """A deal with a contact and a company in the CRM sandbox; ids unique to this session (the engine's data,
    and any instance an aborted session left active, outlive it)."""
    deal_id = f"{SESSION_STARTED_MS % 10**9}{next(_counter):03d}"
    props = {"dealname": "Acme Corp - platform licence", "amount": "24000", "deal_currency_code": "EUR",
             "closedate": "2027-02-01", "pipeline": "default", "dealstage": "contractsent", **properties}
    await env.crm_control("POST", "/_sandbox/deals", {
        "id": deal_id, "properties": {k: v for k, v in props.items() if v is not None},
        "contact": {"properties": {"firstname": "Alex", "lastname": "Doe", "email": "alex.doe@example.com"}},
        "company": {"properties": {"name": "Acme Corp"}}})  # fmt: skip
    return deal_id


def contracts_for(env: NdaEnv, deal_id: str) -> list:
    return [c for c in env.spotdraft.state.contracts.values() if str(c.external_metadata.get("id")) == deal_id]


async def sent_contract(env: NdaEnv, deal_id: str):
    def sent():
        found = contracts_for(env, deal_id)
        return found[0] if found and found[0].status in ("REDLINING", "SIGN") else None

    return await eventually(sent, timeout=120, what=f"the contract for deal {deal_id} was sent")


async def crm_status(env: NdaEnv, deal_id: str, status: str) -> dict:
    async def synced():
        record = await env.crm_control("GET", f"/_sandbox/deals/{deal_id}")
        return record if record["properties"].get("contract_status") == status else None

    return await eventually(synced, timeout=180, what=f"deal {deal_id} shows contract_status {status}")


async def close(env: NdaEnv, deal_id: str, **options) -> dict:
    return await env.crm_control("POST", f"/_sandbox/deals/{deal_id}/close", options or None)


async def test_a_closed_won_deal_is_signed_filed_and_synced_back(env: NdaEnv) -> None:
    deal_id = await new_deal(env)
    closed = await close(env, deal_id)
    assert [d["status"] for d in closed["deliveries"]] == [202], closed
    contract = await sent_contract(env, deal_id)
    await env.spotdraft_control("POST", f"/_sandbox/contracts/{contract.composite_id}/sign")

    record = await crm_status(env, deal_id, "EXECUTED")
    props = record["properties"]
    assert props["contract_id"] == contract.composite_id
    assert props["contract_link"].startswith("http")
    location = props["contract_dms_location"]
    assert location.endswith(".pdf") and contract.composite_id in location
    assert (env.dms_root / contract.composite_id).is_dir()
    assert props["contract_effective_date"] == "2027-02-01"
    assert "24000" in props["contract_value"] and "EUR" in props["contract_value"]
    assert len(contracts_for(env, deal_id)) == 1
    # what the DMS keeps: our ids and the contract's key data, nobody's name or email
    metadata = env.dms_metadata(contract.composite_id)
    flat = str(metadata)
    assert "alex.doe@example.com" not in flat and "Alex" not in flat


async def test_a_declined_signature_ends_on_its_path_and_syncs_declined(env: NdaEnv) -> None:
    deal_id = await new_deal(env)
    await close(env, deal_id)
    contract = await sent_contract(env, deal_id)
    await env.spotdraft_control("POST", f"/_sandbox/contracts/{contract.composite_id}/decline")
    record = await crm_status(env, deal_id, "DECLINED")
    assert record["properties"]["contract_id"] == contract.composite_id
    assert not (env.dms_root / contract.composite_id).exists()


async def test_a_webhook_that_never_arrives_is_reconciled_through_the_status_endpoint(env: NdaEnv) -> None:
    deal_id = await new_deal(env)
    await env.spotdraft_control("POST", "/_sandbox/faults", {"webhook_enabled": False})
    # started by API (no provider variable given): the flow names its provider itself
    running = asyncio.create_task(env.client.run_process_with_result(
        "deal-contract", variables={"dealId": deal_id, "reconcileAfter": "PT2S"}, timeout=240_000))
    contract = await sent_contract(env, deal_id)
    await env.spotdraft_control("POST", f"/_sandbox/contracts/{contract.composite_id}/sign")
    result = await running
    v = result.variables
    assert v["provider"] == "spotdraft" and v["contractStatus"] == "EXECUTED" and v["statusChecks"] >= 1
    assert v["crmSync"]["status"] == "EXECUTED" and v["contractId"] == contract.composite_id
    assert v["outcome"] == "executed"
    await crm_status(env, deal_id, "EXECUTED")


async def test_duplicated_and_out_of_order_lifecycle_webhooks_complete_once(env: NdaEnv) -> None:
    deal_id = await new_deal(env)
    await env.spotdraft_control("POST", "/_sandbox/faults", {"webhook_duplicates": 2, "webhook_out_of_order": True})
    await close(env, deal_id)
    contract = await sent_contract(env, deal_id)
    await env.spotdraft_control("POST", f"/_sandbox/contracts/{contract.composite_id}/sign")
    record = await crm_status(env, deal_id, "EXECUTED")
    syncs = [h for h in record["history"] if h.get("source") == "PATCH"]
    assert len(syncs) == 1, record["history"]
    assert len(list((env.dms_root / contract.composite_id).glob("*.pdf"))) == 1


async def test_the_same_event_twice_and_the_same_deal_closed_twice_make_one_contract(env: NdaEnv) -> None:
    deal_id = await new_deal(env)
    first = await close(env, deal_id, times=2)  # HubSpot's retry: the same eventId again
    assert {d["status"] for d in first["deliveries"]} == {202}, first
    contract = await sent_contract(env, deal_id)
    await env.spotdraft_control("POST", f"/_sandbox/contracts/{contract.composite_id}/sign")
    await crm_status(env, deal_id, "EXECUTED")
    # the deal is closed again later (a new event): the flow finds the executed contract, makes none
    reopened = await close(env, deal_id, stage="contractsent")  # a stage change the bridge ignores
    assert {d["status"] for d in reopened["deliveries"]} == {202}, reopened
    again = await close(env, deal_id)
    assert again["eventIds"] != first["eventIds"]

    async def synced_twice():
        record = await env.crm_control("GET", f"/_sandbox/deals/{deal_id}")
        return len([h for h in record["history"] if h.get("source") == "PATCH"]) >= 2

    await eventually(synced_twice, timeout=180, what="the second instance synced the existing contract")
    assert len(contracts_for(env, deal_id)) == 1


@pytest.mark.parametrize(("variables", "code", "fields", "outcome"), [
    ({"templateId": 999}, "TEMPLATE_NOT_FOUND", None, "rejected_template_not_found"),
    ({}, "CONTRACT_DATA_INVALID", ["deal.amount"], "rejected_invalid_data"),
])
async def test_unknown_template_and_missing_data_are_bpmn_errors_naming_the_fields(
        env: NdaEnv, variables: dict, code: str, fields: list | None, outcome: str) -> None:  # fmt: skip
    deal_id = await new_deal(env, amount=None if code == "CONTRACT_DATA_INVALID" else "24000")
    result = await env.client.run_process_with_result("deal-contract", variables={"dealId": deal_id, **variables},
                                                      timeout=180_000)  # fmt: skip
    error = result.variables["contractError"]
    assert error["code"] == code, error
    if fields is not None:
        assert error["fields"] == fields
    assert "alex.doe@example.com" not in str(error)
    assert contracts_for(env, deal_id) == []
    assert result.variables["outcome"] == outcome


@pytest.mark.parametrize("signature", ["forged", "stale", "missing"])
async def test_a_bad_hubspot_signature_is_401_and_starts_nothing(env: NdaEnv, signature: str) -> None:
    deal_id = await new_deal(env)
    refused = await close(env, deal_id, signature=signature)
    assert [d["status"] for d in refused["deliveries"]] == [401], refused
    barrier = await new_deal(env)
    await close(env, barrier)
    await sent_contract(env, barrier)  # a genuine close after it went through...
    assert contracts_for(env, deal_id) == []  # ...the refused one never did


async def test_a_forged_spotdraft_webhook_is_401(env: NdaEnv) -> None:
    deal_id = await new_deal(env)
    await close(env, deal_id)
    contract = await sent_contract(env, deal_id)
    answer = await env.spotdraft_control("POST", "/_sandbox/webhooks/redeliver",
                                         {"compositeId": contract.composite_id, "signature": "forged"})
    statuses = [d.get("status") for e in answer["events"] for d in e.get("deliveries", [e])]
    assert 401 in statuses and 202 not in statuses, answer


async def test_429_bursts_from_spotdraft_are_waited_out(env: NdaEnv) -> None:
    deal_id = await new_deal(env)
    await env.spotdraft_control("POST", "/_sandbox/faults", {"rate_limit_next": 3})
    await close(env, deal_id)
    contract = await sent_contract(env, deal_id)
    await env.spotdraft_control("POST", f"/_sandbox/contracts/{contract.composite_id}/sign")
    await crm_status(env, deal_id, "EXECUTED")
