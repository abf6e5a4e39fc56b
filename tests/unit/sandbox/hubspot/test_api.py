"""The HubSpot sandbox's CRM API: paths, auth, answers, PATCH history, faults, counters, a real port."""

from __future__ import annotations

import time

import httpx
import pytest

from workers.sandbox.hubspot import SEED_CONTACTS, SEED_DEALS, CrmSandboxState, HubSpotSandboxServer

from .support import AUTH, SETTINGS, Sandbox

DEAL = "/crm/v3/objects/deals/{id}"


async def test_get_deal_answers_hubspots_shape(hubspot_sandbox: Sandbox) -> None:
    params = {"properties": "dealname,amount,description,no_such", "associations": "contacts,companies"}
    response = await hubspot_sandbox.get(DEAL.format(id="1001"), params)
    assert response.status_code == 200
    assert response.headers["x-hubspot-ratelimit-interval-milliseconds"] == "10000"
    deal = response.json()
    assert set(deal) == {"id", "properties", "createdAt", "updatedAt", "archived", "associations"}
    assert deal["id"] == "1001" and deal["archived"] is False and deal["createdAt"].endswith("Z")
    assert deal["properties"]["dealname"] == "Northwind Supply - annual supply agreement"
    assert deal["properties"]["description"] is None and "no_such" not in deal["properties"]
    assert {"createdate", "hs_lastmodifieddate", "hs_object_id"} <= set(deal["properties"])
    assert deal["associations"]["contacts"] == {"results": [{"id": "201", "type": "deal_to_contact"}]}
    assert deal["associations"]["companies"] == {"results": [
        {"id": "301", "type": "deal_to_company"}, {"id": "301", "type": "deal_to_company_unlabeled"},
    ]}  # fmt: skip


async def test_defaults_without_properties_and_no_associations_unless_asked(hubspot_sandbox: Sandbox) -> None:
    deal = (await hubspot_sandbox.get(DEAL.format(id="1002"))).json()
    assert set(deal["properties"]) == {"dealname", "amount", "closedate", "pipeline", "dealstage", "createdate",
                                       "hs_lastmodifieddate", "hs_object_id"}  # fmt: skip
    assert deal["properties"]["amount"] is None and "associations" not in deal
    contact = (await hubspot_sandbox.get("/crm/v3/objects/contacts/203", {"properties": "email,firstname"})).json()
    assert contact["properties"]["email"] is None and contact["properties"]["firstname"] == "Mei"
    assert "lastmodifieddate" in contact["properties"]
    company = (await hubspot_sandbox.get("/crm/v3/objects/companies/302")).json()
    assert company["properties"]["name"] == "Harbor Analytics Ltd"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-token"}, {"Authorization": AUTH["Authorization"].replace("Bearer", "Basic")},
     {"Authorization": "Bearer"}],
)  # fmt: skip
async def test_the_bearer_token_is_required(hubspot_sandbox: Sandbox, headers: dict) -> None:
    response = await hubspot_sandbox.get(DEAL.format(id="1001"), headers=headers)
    assert response.status_code == 401
    body = response.json()
    assert body["status"] == "error" and body["category"] == "INVALID_AUTHENTICATION" and body["correlationId"]
    assert (await hubspot_sandbox.patch("1001", {"properties": {}}, headers=headers)).status_code == 401


async def test_unknown_records_and_types(hubspot_sandbox: Sandbox) -> None:
    missing = await hubspot_sandbox.get(DEAL.format(id="999"))
    assert missing.status_code == 404 and missing.json()["category"] == "OBJECT_NOT_FOUND"
    assert (await hubspot_sandbox.get("/crm/v3/objects/contacts/999")).status_code == 404
    assert (await hubspot_sandbox.get("/crm/v3/objects/tickets/1")).status_code == 400
    assert (await hubspot_sandbox.client.patch("/crm/v3/objects/contacts/201", json={"properties": {}},
                                               headers=AUTH)).status_code == 405  # fmt: skip


async def test_patch_updates_and_keeps_every_patch(hubspot_sandbox: Sandbox) -> None:
    first = {"contract_id": "c_1", "contract_status": "sent", "amount": 50000}
    response = await hubspot_sandbox.patch("1001", {"properties": first})
    assert response.status_code == 200
    assert response.json()["properties"]["contract_status"] == "sent"
    assert response.json()["properties"]["amount"] == "50000"  # numbers are stored as text, as HubSpot does
    await hubspot_sandbox.patch("1001", {"properties": {"contract_status": "signed"}})
    record = (await hubspot_sandbox.client.get("/_sandbox/deals/1001")).json()
    assert record["properties"]["contract_status"] == "signed" and record["patches"] == 2
    assert record["firstProperties"]["amount"] == SEED_DEALS["1001"]["properties"]["amount"]
    assert [h["properties"] for h in record["history"]] == [
        {"contract_id": "c_1", "contract_status": "sent", "amount": "50000"}, {"contract_status": "signed"},
    ]  # fmt: skip
    assert record["history"][0]["previous"] == {"contract_id": None, "contract_status": None, "amount": "48000"}
    assert record["history"][1]["source"] == "PATCH" and record["history"][1]["at"].endswith("Z")
    assert record["contacts"] == [{"id": "201", "properties": SEED_CONTACTS["201"]}]


@pytest.mark.parametrize(
    ("properties", "codes"),
    [
        ({"favourite_colour": "blue", "contract_id": "c"}, {"favourite_colour": "PROPERTY_DOESNT_EXIST"}),
        ({"hs_object_id": "7"}, {"hs_object_id": "READ_ONLY_VALUE"}),
        ({"dealstage": "won-ish"}, {"dealstage": "INVALID_OPTION"}),
        ({"contract_id": {"x": 1}, "contract_status": True}, {"contract_id": "INVALID_PROPERTY_VALUE",
                                                             "contract_status": "INVALID_PROPERTY_VALUE"}),
    ],
)  # fmt: skip
async def test_patch_refusals_name_properties_in_hubspots_error_structure(
    hubspot_sandbox: Sandbox, properties: dict, codes: dict
) -> None:
    response = await hubspot_sandbox.patch("1001", {"properties": properties})
    assert response.status_code == 400
    body = response.json()
    assert body["category"] == "VALIDATION_ERROR" and body["message"].startswith("Property values were not valid")
    assert {e["context"]["propertyName"][0]: e["code"] for e in body["errors"]} == codes
    assert hubspot_sandbox.state.history == {}


@pytest.mark.parametrize("content", [b"{", b"[]", b'{"properties": ["x"]}', b'{"contract_id": "c"}'])
async def test_patch_refuses_bodies_without_a_properties_object(hubspot_sandbox: Sandbox, content: bytes) -> None:
    response = await hubspot_sandbox.client.patch(DEAL.format(id="1001"), content=content, headers=AUTH)
    assert response.status_code == 400 and response.json()["category"] == "VALIDATION_ERROR"


def test_seeded_deals() -> None:
    assert sorted(SEED_DEALS) == ["1001", "1002", "1003"]
    required = {"dealname", "amount", "deal_currency_code", "closedate", "dealstage"}
    assert required <= set(SEED_DEALS["1001"]["properties"]) and required <= set(SEED_DEALS["1003"]["properties"])
    assert required - set(SEED_DEALS["1002"]["properties"]) == {"amount"}
    assert "email" in SEED_CONTACTS["201"] and "email" not in SEED_CONTACTS[SEED_DEALS["1003"]["contacts"][0]]
    for contact in SEED_CONTACTS.values():
        assert contact.get("email", "x@example.com").endswith("@example.com")


async def test_faults(hubspot_sandbox: Sandbox) -> None:
    client, get = hubspot_sandbox.client, lambda: hubspot_sandbox.get(DEAL.format(id="1001"))
    assert (await client.post("/_sandbox/faults", json={"fail_next": 2})).json()["faults"]["fail_next"] == 2
    assert [(await get()).status_code for _ in range(3)] == [502, 502, 200]
    await client.post("/_sandbox/faults", json={"rate_limit_next": 1})
    limited = await get()
    assert limited.status_code == 429 and limited.json()["category"] == "RATE_LIMITS"
    assert limited.headers["x-hubspot-ratelimit-remaining"] == "0"
    assert limited.headers["x-hubspot-ratelimit-interval-milliseconds"] == "10000"
    assert (await get()).status_code == 200
    await client.post("/_sandbox/faults", json={"down": True})
    assert [(await get()).status_code for _ in range(2)] == [503, 503]
    assert (await client.get("/_sandbox/deals/1001")).status_code == 200  # control plane unaffected
    await client.post("/_sandbox/faults", json={"down": False, "unauthorized": True})
    assert (await get()).status_code == 401
    await client.post("/_sandbox/faults", json={"unauthorized": False, "missing_scopes": True})
    forbidden = await get()
    assert forbidden.status_code == 403 and forbidden.json()["category"] == "MISSING_SCOPES"
    await client.post("/_sandbox/faults", json={"missing_scopes": False, "latency_s": 0.001})
    assert (await get()).status_code == 200
    for bad in ({"fail_next": -1}, {"down": "yes"}, {"latency_s": "slow"}, {"nope": 1}, ["x"]):
        response = await client.post("/_sandbox/faults", json=bad)
        assert response.status_code == 400, bad
    assert (await client.get("/_sandbox/faults")).json()["faults"]["latency_s"] == 0.001
    assert hubspot_sandbox.state.faults_injected == 7


async def test_state_counts_requests_by_route_and_status(hubspot_sandbox: Sandbox) -> None:
    await hubspot_sandbox.get(DEAL.format(id="1001"))
    await hubspot_sandbox.get(DEAL.format(id="999"))
    await hubspot_sandbox.get("/crm/v3/objects/contacts/201")
    await hubspot_sandbox.patch("1001", {"properties": {"contract_id": "c_1"}})
    state = (await hubspot_sandbox.client.get("/_sandbox/state")).json()
    assert state["requests"]["GET /crm/v3/objects/deals/{id}"] == {"200": 1, "404": 1}
    assert state["requests"]["GET /crm/v3/objects/contacts/{id}"] == {"200": 1}
    assert state["requests"]["PATCH /crm/v3/objects/deals/{id}"] == {"200": 1}
    assert state["patches"] == 1 and state["deals"] == ["1001", "1002", "1003"]
    assert state["deliveries"] == {"attempted": 0, "succeeded": 0, "failed": 0}
    assert (await hubspot_sandbox.client.post("/_sandbox/reset")).json() == {"reset": True}
    assert hubspot_sandbox.state.history == {}
    assert hubspot_sandbox.state.deal("1001")["properties"].get("contract_id") is None  # type: ignore[index]


def test_hubspot_sandbox_server_answers_on_a_real_loopback_port() -> None:
    server = HubSpotSandboxServer(SETTINGS, CrmSandboxState(), port=0)
    server.start(timeout=60)
    try:
        assert server.port != 0 and server.base_url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=server.base_url, trust_env=False, timeout=30) as client:
            response = client.get(DEAL.format(id="1001"), params={"properties": "dealstage"}, headers=AUTH)
            assert response.json()["properties"]["dealstage"] == "contractsent"
        # the server counts a request after answering it, from its own thread: wait for the count
        deadline = time.monotonic() + 30
        while server.state.requests.get("GET /crm/v3/objects/deals/{id}") != {"200": 1} and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.state.requests.get("GET /crm/v3/objects/deals/{id}") == {"200": 1}
    finally:
        server.stop()
    # stopped: its serving thread ended and its socket is closed (connecting to the freed port would race
    # with whatever else on a busy machine gets that port next)
    assert server._thread is None and server._sock is None
