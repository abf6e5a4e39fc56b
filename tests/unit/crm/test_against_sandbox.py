"""The HubSpot adapter against the sandbox app (in process, ``httpx.ASGITransport``): the conformance
target the e2e suites rely on."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from workers.crm import CrmAuthError, CrmRateLimited, CrmRejected, CrmUnavailable, DealNotFound
from workers.crm.hubspot import HubSpotClient
from workers.crm.settings import HubSpotSandboxSettings, HubSpotSettings
from workers.sandbox.hubspot import CrmSandboxState, create_app

DEAL_PROPERTIES = ["dealname", "amount", "deal_currency_code", "closedate", "dealstage"]


@pytest.fixture
async def sandboxed() -> AsyncIterator[tuple[HubSpotClient, CrmSandboxState]]:
    state = CrmSandboxState()
    app = create_app(HubSpotSandboxSettings(), state)
    crm = HubSpotClient(HubSpotSettings(base_url="http://hubspot-sandbox.test"), transport=httpx.ASGITransport(app=app))
    yield crm, state
    await crm.aclose()
    await app.state.sender.aclose()


async def test_seeded_deals_read_with_their_contacts_and_companies(
    sandboxed: tuple[HubSpotClient, CrmSandboxState],
) -> None:
    crm, _ = sandboxed
    complete = await crm.get_deal("1001", DEAL_PROPERTIES)
    assert complete.missing(*DEAL_PROPERTIES) == []
    assert complete.contact_ids == ["201"] and complete.company_ids == ["301"]  # the company is listed twice
    contact = await crm.get_contact("201", ["firstname", "lastname", "email"])
    assert contact.properties["email"] == "ines.alvarez@example.com" and contact.missing("email") == []
    company = await crm.get_company("301", ["name", "domain"])
    assert company.properties["name"] == "Northwind Supply GmbH"
    assert (await crm.get_deal("1002", DEAL_PROPERTIES)).missing(*DEAL_PROPERTIES) == ["amount"]
    bluefin = await crm.get_deal("1003", DEAL_PROPERTIES)
    assert bluefin.missing(*DEAL_PROPERTIES) == []
    assert (await crm.get_contact(bluefin.contact_ids[0], ["email"])).missing("email") == ["email"]


async def test_missing_records_are_not_found(sandboxed: tuple[HubSpotClient, CrmSandboxState]) -> None:
    crm, _ = sandboxed
    with pytest.raises(DealNotFound, match="no deal '999'.*category OBJECT_NOT_FOUND"):
        await crm.get_deal("999", ["dealname"])
    with pytest.raises(DealNotFound, match="no contact '999'"):
        await crm.get_contact("999", ["email"])
    with pytest.raises(DealNotFound, match="no company '999'"):
        await crm.get_company("999", ["name"])


async def test_sync_back_round_trip_keeps_every_patch(sandboxed: tuple[HubSpotClient, CrmSandboxState]) -> None:
    crm, state = sandboxed
    sync = {"contract_id": "c_123", "contract_status": "sent", "contract_link": "https://contracts.example.com/c_123"}
    await crm.update_deal("1001", sync)
    await crm.update_deal("1001", {"contract_status": "signed", "contract_dms_location": "dms://deals/1001.pdf"})
    after = await crm.get_deal("1001", ["contract_id", "contract_status", "contract_dms_location"])
    assert after.properties == {"contract_id": "c_123", "contract_status": "signed",
                                "contract_dms_location": "dms://deals/1001.pdf"}  # fmt: skip
    patches = state.patches_of("1001")
    assert [p["properties"] for p in patches] == [sync, {"contract_status": "signed",
                                                         "contract_dms_location": "dms://deals/1001.pdf"}]
    assert patches[1]["previous"] == {"contract_status": "sent", "contract_dms_location": None}
    assert state.full_record("1001")["firstProperties"].get("contract_status") is None


async def test_refused_updates_name_the_properties(sandboxed: tuple[HubSpotClient, CrmSandboxState]) -> None:
    crm, state = sandboxed
    with pytest.raises(CrmRejected) as info:
        await crm.update_deal("1001", {"favourite_colour": "blue", "contract_id": "c_1"})
    assert info.value.properties == ["favourite_colour"] and "blue" not in str(info.value)
    with pytest.raises(CrmRejected) as info:
        await crm.update_deal("1001", {"dealstage": "won-ish", "hs_object_id": "7"})
    assert sorted(info.value.properties) == ["dealstage", "hs_object_id"] and "won-ish" not in str(info.value)
    assert state.patches_of("1001") == []


async def test_faults_map_onto_crm_errors(sandboxed: tuple[HubSpotClient, CrmSandboxState]) -> None:
    crm, state = sandboxed
    state.set_faults({"rate_limit_next": 1})
    with pytest.raises(CrmRateLimited) as info:
        await crm.get_deal("1001", ["dealname"])
    assert info.value.retry_after == 10.0
    state.set_faults({"fail_next": 1})
    with pytest.raises(CrmUnavailable, match="HTTP 502"):
        await crm.get_deal("1001", ["dealname"])
    state.set_faults({"down": True})
    with pytest.raises(CrmUnavailable, match="HTTP 503"):
        await crm.update_deal("1001", {"contract_id": "c_1"})
    state.set_faults({"down": False, "unauthorized": True})
    with pytest.raises(CrmAuthError, match="HUBSPOT_ACCESS_TOKEN"):
        await crm.get_deal("1001", ["dealname"])
    state.set_faults({"unauthorized": False, "missing_scopes": True})
    with pytest.raises(CrmAuthError, match="missing: crm.objects.deals.read"):
        await crm.get_deal("1001", ["dealname"])
    state.set_faults({"missing_scopes": False})
    assert (await crm.get_deal("1001", ["dealname"])).properties["dealname"]


async def test_a_wrong_token_is_an_auth_error(sandboxed: tuple[HubSpotClient, CrmSandboxState]) -> None:
    _, state = sandboxed
    app = create_app(HubSpotSandboxSettings(), state)
    settings = HubSpotSettings(base_url="http://hubspot-sandbox.test", access_token="pat-some-other-token-0000")
    crm = HubSpotClient(settings, transport=httpx.ASGITransport(app=app))
    with pytest.raises(CrmAuthError, match="category INVALID_AUTHENTICATION"):
        await crm.get_deal("1001", ["dealname"])
    await crm.aclose()
