"""POST /webhooks/bamboohr: a verified hire becomes the ``employee-hired`` message that starts
``employee-nda`` (correlation key = employee id, message id = the event's id, TTL 0); forged, stale or
foreign events are refused and nothing is published (fake publisher, the real signing scheme)."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from workers.bridge.app import create_app
from workers.bridge.auth import build_verifiers
from workers.config import BridgeSettings, ProviderSettings
from workers.hr.settings import DEV_BAMBOOHR_WEBHOOK_KEY, BambooHrSettings
from workers.hr.signing import sign
from workers.secret_checks import SecretProblem

from .support import FakePublisher

KEY = "a-real-bamboohr-private-key-for-tests"
REAL_PROVIDER_SECRET = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"


def event(employee_id: str = "101", type_: str = "employee.created", changed: list[str] | None = None,
          company: str = "1", at: str = "2026-11-23T09:00:00+0000") -> bytes:  # fmt: skip
    data: dict = {"companyId": company, "employeeId": employee_id}
    if changed is not None:
        data["changedFields"] = changed
    return json.dumps({"type": type_, "timestamp": at, "data": data}).encode()


def app_for(publisher: FakePublisher, **hr: object):
    sources = build_verifiers(ProviderSettings(webhook_secret=REAL_PROVIDER_SECRET), dev=False,
                              hr=BambooHrSettings(webhook_private_key=KEY, **hr))  # fmt: skip
    return create_app(publisher, sources, BridgeSettings(timestamp_tolerance_s=60, message_ttl_s=600))


async def post(app, body: bytes, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bridge") as client:
        return await client.post("/webhooks/bamboohr", content=body, headers={"content-type": "application/json",
                                                                                **headers})  # fmt: skip


async def test_a_hire_starts_the_nda_flow_by_message() -> None:
    publisher = FakePublisher()
    body = event()
    response = await post(app_for(publisher), body, sign(body, KEY))

    assert response.status_code == 202 and response.json() == {"status": "published", "message": "employee-hired"}
    (call,) = publisher.calls
    assert (call.name, call.correlation_key, call.ttl_ms) == ("employee-hired", "101", 0)
    assert call.message_id.startswith("bhr-")
    assert call.variables == {"employeeId": "101", "hrEventId": call.message_id, "hrEventType": "employee.created"}


async def test_a_redelivery_has_the_same_message_id_and_another_event_another() -> None:
    publisher = FakePublisher()
    app = app_for(publisher)
    body = event()
    for _ in range(3):  # BambooHR re-sends the same body, signed again at a later time
        assert (await post(app, body, sign(body, KEY))).status_code == 202
    other = event(at="2026-11-23T09:05:00+0000")
    await post(app, other, sign(other, KEY))
    ids = [c.message_id for c in publisher.calls]
    assert ids[0] == ids[1] == ids[2] != ids[3]
    assert {c.correlation_key for c in publisher.calls} == {"101"}


@pytest.mark.parametrize("headers", [
    lambda body: sign(body, "someone-elses-key-0123456789"),
    lambda body: sign(body, KEY, str(int(time.time()) - 3600)),
    lambda body: sign(body, KEY, str(int(time.time()) + 3600)),
    lambda body: {},
    lambda body: {**sign(body, KEY), "X-BambooHR-Signature": "00" * 32},
])
async def test_forged_stale_or_unsigned_hires_are_401_and_nothing_is_published(headers) -> None:
    publisher = FakePublisher()
    body = event()
    response = await post(app_for(publisher), body, headers(body))
    assert response.status_code == 401 and response.json()["error"] == "invalid_signature"
    assert publisher.calls == []


async def test_a_body_changed_after_signing_is_refused() -> None:
    publisher = FakePublisher()
    headers = sign(event("101"), KEY)
    response = await post(app_for(publisher), event("102"), headers)
    assert response.status_code == 401 and publisher.calls == []


async def test_updates_start_onboarding_only_for_the_fields_it_depends_on() -> None:
    publisher = FakePublisher()
    app = app_for(publisher)
    ignored = event(type_="employee.updated", changed=["payRate"])
    assert (await post(app, ignored, sign(ignored, KEY))).json() == {"status": "ignored"}
    deleted = event(type_="employee.deleted")
    assert (await post(app, deleted, sign(deleted, KEY))).json() == {"status": "ignored"}
    assert publisher.calls == []
    fixed = event(type_="employee.updated", changed=["workEmail"])
    assert (await post(app, fixed, sign(fixed, KEY))).status_code == 202
    assert [c.name for c in publisher.calls] == ["employee-hired"]


async def test_another_company_and_malformed_events_are_400() -> None:
    publisher = FakePublisher()
    app = app_for(publisher, company_id="1")
    foreign = event(company="666")
    response = await post(app, foreign, sign(foreign, KEY))
    assert (response.status_code, response.json()["error"]) == (400, "unknown_company")
    for body in (b"not json", json.dumps({"type": "employee.created"}).encode(), event(employee_id="../../x")):
        response = await post(app, body, sign(body, KEY))
        assert (response.status_code, response.json()["error"]) == (400, "malformed_event"), body
        assert "../../x" not in response.text
    assert publisher.calls == []


def test_the_development_key_is_refused_outside_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BAMBOOHR_WEBHOOK_PRIVATE_KEY")
    with pytest.raises(SecretProblem, match="BAMBOOHR_WEBHOOK_PRIVATE_KEY"):
        build_verifiers(ProviderSettings(webhook_secret=REAL_PROVIDER_SECRET), dev=False,
                        hr=BambooHrSettings(webhook_private_key=DEV_BAMBOOHR_WEBHOOK_KEY))  # fmt: skip
    with pytest.raises(SecretProblem, match="BAMBOOHR_WEBHOOK_PRIVATE_KEY is not set"):
        build_verifiers(ProviderSettings(webhook_secret=REAL_PROVIDER_SECRET), dev=False, hr=BambooHrSettings())
    sources = build_verifiers(ProviderSettings(), dev=True, hr=BambooHrSettings())
    assert {"bamboohr", "contractize"} <= set(sources)


def test_a_bridge_serves_only_the_senders_it_is_told_to(monkeypatch: pytest.MonkeyPatch) -> None:
    from workers import config

    monkeypatch.setenv("BRIDGE_SOURCES", '["contractize"]')
    monkeypatch.delenv("BAMBOOHR_WEBHOOK_PRIVATE_KEY")  # not needed: bamboohr is not served
    config.clear_cache()
    assert list(build_verifiers(ProviderSettings(webhook_secret=REAL_PROVIDER_SECRET), dev=False)) == ["contractize"]


async def test_a_hubspot_batch_closing_two_deals_publishes_two_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    """A sender that batches events (HubSpot) gets one message per Closed-Won event, in order."""
    from workers.crm.settings import HubSpotSettings
    from workers.crm.signing import sign as hubspot_sign

    publisher = FakePublisher()
    secret = "a-real-hubspot-client-secret-for-unit-tests"
    hubspot = HubSpotSettings(client_secret=secret)
    sources = build_verifiers(ProviderSettings(webhook_secret=REAL_PROVIDER_SECRET), dev=False,
                              hr=BambooHrSettings(webhook_private_key=KEY), settings={"hubspot": hubspot})  # fmt: skip
    app = create_app(publisher, sources, BridgeSettings(timestamp_tolerance_s=60, message_ttl_s=600))
    now = int(time.time() * 1000)
    events = [{"eventId": 7 + i, "subscriptionId": 1, "portalId": 24681357, "appId": 3, "occurredAt": now,
               "subscriptionType": "deal.propertyChange", "attemptNumber": 0, "objectId": deal,
               "propertyName": "dealstage", "propertyValue": "closedwon", "changeSource": "CRM_UI"}
              for i, deal in enumerate((1001, 1003))]  # fmt: skip
    body = json.dumps(events).encode()
    headers = hubspot_sign("POST", hubspot.webhook_url, body, secret)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bridge") as client:
        response = await client.post("/webhooks/hubspot", content=body, headers={**headers,
                                                                                   "content-type": "application/json"})
    assert response.status_code == 202, response.text
    assert response.json() == {"status": "published", "message": "deal-closed-won", "published": 2,
                               "duplicates": 0, "ignored": 0}  # fmt: skip
    assert [(c.name, c.correlation_key, c.ttl_ms) for c in publisher.calls] == [
        ("deal-closed-won", "1001", 0), ("deal-closed-won", "1003", 0)]
