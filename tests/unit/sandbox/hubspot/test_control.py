"""The HubSpot sandbox's control plane and its signed webhook batches."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from workers.bridge.sources import Ignore, Publish
from workers.crm.signing import HEADER_SIGNATURE, HEADER_TIMESTAMP
from workers.crm.webhooks import HubSpotSource, parse_events
from workers.signing import SignatureError

from .support import AUTH, SETTINGS, VERIFIER, Sandbox

SOURCE = HubSpotSource(VERIFIER, closed_won_stage="closedwon", portal_id=SETTINGS.portal_id)


async def close(sandbox: Sandbox, deal_id: str = "1001", **options: object) -> dict:
    response = await sandbox.client.post(f"/_sandbox/deals/{deal_id}/close", json=options)
    assert response.status_code == 200, response.text
    return response.json()


# --- deals ------------------------------------------------------------------------------------------


async def test_create_a_deal_with_a_new_contact_and_company(hubspot_sandbox: Sandbox) -> None:
    body = {
        "properties": {"dealname": "Lumen Labs - MSA", "amount": "9000", "dealstage": "contractsent"},
        "contact": {"properties": {"firstname": "Lena", "lastname": "Voss", "email": "lena.voss@example.com"}},
        "company": {"properties": {"name": "Lumen Labs", "domain": "lumen.example.com"}},
    }
    created = await hubspot_sandbox.client.post("/_sandbox/deals", json=body)
    assert created.status_code == 201
    assert created.json() == {"dealId": "1004", "contactIds": ["204"], "companyIds": ["304"]}
    deal = (await hubspot_sandbox.get("/crm/v3/objects/deals/1004", {"associations": "contacts,companies"})).json()
    assert deal["properties"]["dealname"] == "Lumen Labs - MSA"
    assert deal["associations"]["contacts"]["results"][0]["id"] == "204"
    contact = (await hubspot_sandbox.get("/crm/v3/objects/contacts/204", {"properties": "email"})).json()
    assert contact["properties"]["email"] == "lena.voss@example.com"


async def test_create_a_deal_with_existing_records_and_chosen_ids(hubspot_sandbox: Sandbox) -> None:
    body = {"id": "5000", "properties": {"dealname": "Renewal"}, "contactIds": ["201", "202"], "companyIds": ["301"]}
    created = await hubspot_sandbox.client.post("/_sandbox/deals", json=body)
    assert created.json() == {"dealId": "5000", "contactIds": ["201", "202"], "companyIds": ["301"]}
    record = (await hubspot_sandbox.client.get("/_sandbox/deals/5000")).json()
    assert [c["id"] for c in record["contacts"]] == ["201", "202"] and record["history"] == []
    assert record["firstProperties"] == {"dealname": "Renewal"}
    assert (await hubspot_sandbox.client.get("/_sandbox/deals/999")).status_code == 404


@pytest.mark.parametrize(
    ("body", "fields"),
    [({"id": "../x"}, ["id"]), ({"properties": {"shoe_size": "42"}}, ["properties.shoe_size"]),
     ({"properties": {"amount": 5}}, ["properties.amount"]), ({"contactIds": ["999"]}, ["contactIds"]),
     ({"contact": {"properties": {"email": "a@example.com"}}, "companyIds": ["999"]}, ["companyIds"]),
     ({"company": {"id": "x", "properties": {}}}, ["company.id"]), ({"contact": "201"}, ["contact"])],
)  # fmt: skip
async def test_create_validates_and_stores_nothing_on_error(hubspot_sandbox: Sandbox, body: dict, fields: list) -> None:
    before = {t: sorted(o) for t, o in hubspot_sandbox.state.objects.items()}
    response = await hubspot_sandbox.client.post("/_sandbox/deals", json=body)
    assert response.status_code == 400 and response.json()["fields"] == fields
    assert {t: sorted(o) for t, o in hubspot_sandbox.state.objects.items()} == before


# --- close -> signed webhook batches ----------------------------------------------------------------


async def test_close_sets_the_stage_and_sends_a_signed_batch_the_verifier_accepts(hubspot_sandbox: Sandbox) -> None:
    before = int(time.time() * 1000)
    answer = await close(hubspot_sandbox)
    after = int(time.time() * 1000)
    [request] = hubspot_sandbox.bridge.received
    assert str(request.url) == SETTINGS.webhook_url and request.method == "POST"
    assert request.headers["content-type"] == "application/json"
    VERIFIER.verify(request.content, request.headers, 300)
    assert before <= int(request.headers[HEADER_TIMESTAMP]) <= after  # Unix milliseconds, when sent
    [event] = parse_events(request.content)
    assert (event.subscription_type, event.object_id, event.property_name, event.property_value) == (
        "deal.propertyChange", "1001", "dealstage", "closedwon",
    )  # fmt: skip
    assert (event.portal_id, event.app_id, event.attempt_number) == ("62515", "54321", 0)
    assert answer["eventIds"] == [int(event.event_id)] and answer["dealIds"] == ["1001"]
    assert answer["deliveries"] == [{"delivery": 1, "attempt": 1, "attemptNumber": 0, "status": 200}]
    raw = json.loads(request.content)
    assert isinstance(raw, list) and isinstance(raw[0]["objectId"], int) and isinstance(raw[0]["eventId"], int)
    assert "Northwind" not in request.content.decode() and "example.com" not in request.content.decode()
    # The bridge's view: one deal-closed-won message.
    outcome = SOURCE.translate(request.content, None)
    assert isinstance(outcome, Publish) and outcome.correlation_key == "1001"
    assert outcome.message_id == f"hs-{event.event_id}"
    record = (await hubspot_sandbox.client.get("/_sandbox/deals/1001")).json()
    assert record["properties"]["dealstage"] == "closedwon" and record["patches"] == 0
    assert record["history"][-1]["source"] == "sandbox"
    assert record["history"][-1]["previous"] == {"dealstage": "contractsent"}


async def test_redeliveries_repeat_the_event_id_with_a_growing_attempt_number(hubspot_sandbox: Sandbox) -> None:
    answer = await close(hubspot_sandbox, times=3)
    requests = hubspot_sandbox.bridge.received
    events = [parse_events(r.content)[0] for r in requests]
    assert len({e.event_id for e in events}) == 1 and [e.attempt_number for e in events] == [0, 1, 2]
    assert [d["delivery"] for d in answer["deliveries"]] == [1, 2, 3]
    for request in requests:
        VERIFIER.verify(request.content, request.headers, 300)
    outcomes = [SOURCE.translate(r.content, None) for r in requests]
    assert outcomes[0] == outcomes[1] == outcomes[2] and isinstance(outcomes[0], Publish)
    again = await close(hubspot_sandbox)
    assert again["eventIds"][0] > answer["eventIds"][0]  # a new close is a new event


@pytest.mark.parametrize("mode", ["forged", "stale", "missing"])
async def test_bad_signatures_are_rejected_by_the_verifier(hubspot_sandbox: Sandbox, mode: str) -> None:
    await close(hubspot_sandbox, signature=mode)
    [request] = hubspot_sandbox.bridge.received
    with pytest.raises(SignatureError):
        VERIFIER.verify(request.content, request.headers, 300)
    if mode == "stale":  # correctly signed, only old
        VERIFIER.verify(request.content, request.headers, 300, now=int(request.headers[HEADER_TIMESTAMP]) / 1000)
    if mode == "missing":
        assert HEADER_SIGNATURE.lower() not in request.headers


async def test_noise_puts_other_events_around_the_closed_won_one(hubspot_sandbox: Sandbox) -> None:
    await close(hubspot_sandbox, noise=True)
    [request] = hubspot_sandbox.bridge.received
    events = parse_events(request.content)
    assert [(e.subscription_type, e.property_name) for e in events] == [
        ("deal.propertyChange", "amount"), ("deal.propertyChange", "dealstage"), ("contact.creation", None),
    ]  # fmt: skip
    assert len({e.event_id for e in events}) == 3
    assert [int(e.event_id) for e in events] == sorted(int(e.event_id) for e in events)
    outcomes = SOURCE.translate_all(request.content, None)
    assert [type(o) for o in outcomes] == [Ignore, Publish, Ignore]


async def test_one_batch_can_close_several_deals(hubspot_sandbox: Sandbox) -> None:
    response = await hubspot_sandbox.client.post("/_sandbox/webhooks/close", json={"dealIds": ["1001", "1003"]})
    assert response.status_code == 200 and response.json()["dealIds"] == ["1001", "1003"]
    [request] = hubspot_sandbox.bridge.received
    VERIFIER.verify(request.content, request.headers, 300)
    outcomes = SOURCE.translate_all(request.content, None)
    assert [o.correlation_key for o in outcomes if isinstance(o, Publish)] == ["1001", "1003"]
    for deal_id in ("1001", "1003"):
        assert hubspot_sandbox.state.deal(deal_id)["properties"]["dealstage"] == "closedwon"  # type: ignore[index]


async def test_deliveries_retry_on_5xx_429_and_connection_errors_never_on_4xx(hubspot_sandbox: Sandbox) -> None:
    hubspot_sandbox.bridge.script = [503, httpx.ConnectError("refused"), 429, 200]
    answer = await close(hubspot_sandbox)
    assert [(d["attempt"], d["attemptNumber"], d["status"]) for d in answer["deliveries"]] == [
        (1, 0, 503), (2, 1, None), (3, 2, 429), (4, 3, 200),
    ]  # fmt: skip
    assert answer["delivered"] == 1
    assert len({parse_events(r.content)[0].event_id for r in hubspot_sandbox.bridge.received}) == 1
    hubspot_sandbox.bridge.script = [401]
    answer = await close(hubspot_sandbox)
    assert answer["deliveries"] == [{"delivery": 1, "attempt": 1, "attemptNumber": 0, "status": 401}]
    hubspot_sandbox.bridge.script = [500] * 10
    answer = await close(hubspot_sandbox)
    assert [d["status"] for d in answer["deliveries"]] == [500] * (SETTINGS.webhook_retries + 1)
    assert answer["delivered"] == 0
    assert hubspot_sandbox.state.deliveries == {"attempted": 9, "succeeded": 1, "failed": 8}


@pytest.mark.parametrize(
    ("path", "body", "status", "field_name"),
    [("/_sandbox/deals/1001/close", {"times": 0}, 400, "times"),
     ("/_sandbox/deals/1001/close", {"times": True}, 400, "times"),
     ("/_sandbox/deals/1001/close", {"signature": "weird"}, 400, "signature"),
     ("/_sandbox/deals/1001/close", {"stage": "won-ish"}, 400, "stage"),
     ("/_sandbox/deals/1001/close", {"noise": "yes"}, 400, "noise"),
     ("/_sandbox/deals/999/close", {}, 404, None),
     ("/_sandbox/webhooks/close", {"dealIds": []}, 400, "dealIds"),
     ("/_sandbox/webhooks/close", {"dealIds": "1001"}, 400, "dealIds"),
     ("/_sandbox/webhooks/close", {"dealIds": ["1001", "999"]}, 404, None)],
)  # fmt: skip
async def test_close_validates_its_options(
    hubspot_sandbox: Sandbox, path: str, body: dict, status: int, field_name: str | None
) -> None:
    response = await hubspot_sandbox.client.post(path, json=body)
    assert response.status_code == status
    if field_name is not None:
        assert response.json()["fields"] == [field_name]
    assert hubspot_sandbox.bridge.received == [] and hubspot_sandbox.state.history == {}


async def test_a_closed_deal_reads_closed_won_through_the_api(hubspot_sandbox: Sandbox) -> None:
    await close(hubspot_sandbox, "1002", stage="closedwon")
    deal = (await hubspot_sandbox.client.get("/crm/v3/objects/deals/1002", params={"properties": "dealstage"},
                                             headers=AUTH)).json()  # fmt: skip
    assert deal["properties"]["dealstage"] == "closedwon"
    assert (await hubspot_sandbox.client.get("/_sandbox/health")).json() == {"status": "ok"}
