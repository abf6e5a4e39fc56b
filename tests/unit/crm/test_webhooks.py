"""Parsing HubSpot's event batches and the bridge source (``HubSpotSource``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from workers.bridge.sources import BadEvent, Ignore, Publish, WebhookSource
from workers.crm.webhooks import (
    CLOSED_WON_MESSAGE,
    HubSpotSource,
    HubSpotVerifier,
    MalformedHubSpotEvent,
    parse_events,
)

SECRET = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
VERIFIER = HubSpotVerifier.from_secrets(SECRET, uri="https://hooks.example.com/webhooks/hubspot")


def event(event_id: int = 100, object_id: Any = 1001, **changes: Any) -> dict[str, Any]:
    base = {
        "eventId": event_id, "subscriptionId": 7001, "portalId": 62515, "appId": 54321,
        "occurredAt": 1769885000000, "subscriptionType": "deal.propertyChange", "attemptNumber": 0,
        "objectId": object_id, "propertyName": "dealstage", "propertyValue": "closedwon", "changeSource": "CRM_UI",
    }  # fmt: skip
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


def body(*events: dict[str, Any]) -> bytes:
    return json.dumps(list(events)).encode()


def source(**options: Any) -> HubSpotSource:
    return HubSpotSource(VERIFIER, **({"closed_won_stage": "closedwon", "portal_id": None} | options))


# --- parsing ----------------------------------------------------------------------------------------


def test_parse_events_reads_the_published_fields() -> None:
    [parsed] = parse_events(body(event(sourceId="userId:1", changeFlag="UPDATED")))
    assert (parsed.event_id, parsed.portal_id, parsed.object_id) == ("100", "62515", "1001")
    assert (parsed.subscription_type, parsed.property_name, parsed.property_value) == (
        "deal.propertyChange", "dealstage", "closedwon",
    )  # fmt: skip
    assert (parsed.subscription_id, parsed.app_id, parsed.attempt_number, parsed.change_source) == (
        "7001", "54321", 0, "CRM_UI",
    )  # fmt: skip
    assert parsed.occurred_at == 1769885000000 and parsed.is_deal_property_change
    assert "closedwon" not in repr(parsed)  # a property value is never shown


def test_events_of_other_kinds_parse_too() -> None:
    association = event(subscriptionType="deal.associationChange", objectId=..., propertyName=...,
                        propertyValue=..., fromObjectId=1001, toObjectId=201)  # fmt: skip
    generic = event(subscriptionType="object.propertyChange", objectTypeId="0-3")
    numeric = event(propertyName="amount", propertyValue=48000.5)
    parsed = parse_events(body(association, generic, numeric))
    assert parsed[0].object_id is None and not parsed[0].is_deal_property_change
    assert parsed[1].is_deal_property_change and parsed[2].property_value == "48000.5"
    assert parse_events(b"[]") == []


def test_fields_we_only_log_are_tolerated_when_odd() -> None:
    [parsed] = parse_events(body(event(appId="<script>", changeSource={"x": 1}, attemptNumber=-1,
                                       subscriptionId=None)))  # fmt: skip
    assert (parsed.app_id, parsed.change_source, parsed.attempt_number, parsed.subscription_id) == (None, None, 0, None)


@pytest.mark.parametrize(
    ("raw", "fields"),
    [
        (body(event(eventId=...)), ["[0].eventId"]),
        (body(event(), event(portalId="62515/../1")), ["[1].portalId"]),
        (body(event(objectId="Ada Byron")), ["[0].objectId"]),
        (body(event(subscriptionType="deal property change")), ["[0].subscriptionType"]),
        (body(event(occurredAt="yesterday")), ["[0].occurredAt"]),
        (body(event(propertyName="deal stage")), ["[0].propertyName"]),
        (body(event(propertyValue={"Ada": "Byron"})), ["[0].propertyValue"]),
        (body(event(eventId=True)), ["[0].eventId"]),
        (b'[{"eventId": 1}, "Ada Byron"]', None),
    ],
)
def test_malformed_events_name_fields_never_values(raw: bytes, fields: list[str] | None) -> None:
    with pytest.raises(MalformedHubSpotEvent) as info:
        parse_events(raw)
    if fields is not None:
        assert info.value.fields == fields
    assert "Ada" not in str(info.value) and "../1" not in str(info.value)


@pytest.mark.parametrize("raw", [b"", b"{", b'{"eventId": 1}', b'"x"', b"[" * 100000])
def test_bodies_that_are_not_event_arrays(raw: bytes) -> None:
    with pytest.raises(MalformedHubSpotEvent):
        parse_events(raw)


# --- the bridge source ------------------------------------------------------------------------------


def test_a_closed_won_event_is_one_deal_closed_won_message() -> None:
    hs = source()
    assert isinstance(hs, WebhookSource) and hs.verifier is VERIFIER
    outcome = hs.translate(body(event()), None)
    assert outcome == Publish(
        name=CLOSED_WON_MESSAGE,
        correlation_key="1001",
        message_id="hs-100",
        variables={"dealId": "1001", "crmEventId": "hs-100", "provider": "spotdraft"},
        ttl_ms=None,
        log={"event_type": "deal.propertyChange", "event_id": "hs-100", "deal_id": "1001"},
    )
    assert source(provider="other", ttl_ms=0).translate(body(event()), None).ttl_ms == 0  # type: ignore[union-attr]


def test_a_retry_of_the_same_event_is_the_same_message() -> None:
    first = source().translate(body(event(attemptNumber=0)), None)
    retry = source().translate(body(event(attemptNumber=3)), None)
    assert first == retry


@pytest.mark.parametrize(
    "other",
    [
        event(propertyValue="closedlost"),
        event(propertyName="amount", propertyValue="closedwon"),
        event(subscriptionType="contact.propertyChange"),
        event(subscriptionType="deal.creation", propertyName=..., propertyValue=...),
        event(subscriptionType="object.propertyChange", objectTypeId="0-1"),
        event(propertyValue=None),
    ],
)
def test_other_events_are_ignored(other: dict[str, Any]) -> None:
    assert source().translate(body(other), None) == Ignore(other["subscriptionType"], "hs-100")


def test_a_configured_stage_and_generic_deal_events() -> None:
    custom = source(closed_won_stage="118334297")
    assert isinstance(custom.translate(body(event(propertyValue="118334297")), None), Publish)
    assert isinstance(custom.translate(body(event()), None), Ignore)
    generic = event(subscriptionType="object.propertyChange", objectTypeId="0-3")
    assert source().translate(body(generic), None).correlation_key == "1001"  # type: ignore[union-attr]


def test_a_mixed_batch_publishes_its_one_closed_won_event() -> None:
    batch = body(event(1, propertyName="amount", propertyValue="5"), event(2, object_id=1002),
                 event(3, subscriptionType="contact.creation", propertyName=..., propertyValue=...))  # fmt: skip
    outcome = source().translate(batch, None)
    assert isinstance(outcome, Publish) and outcome.correlation_key == "1002" and outcome.message_id == "hs-2"
    assert source().translate(b"[]", None) == Ignore("empty_batch")


def test_translate_all_gives_one_outcome_per_event() -> None:
    batch = body(event(1, object_id=1001), event(2, propertyName="amount"), event(3, object_id=1002),
                 event(1, object_id=1001))  # fmt: skip
    outcomes = source().translate_all(batch, None)
    assert [type(o).__name__ for o in outcomes] == ["Publish", "Ignore", "Publish"]  # a repeated eventId is kept once
    assert [(o.correlation_key, o.message_id) for o in outcomes if isinstance(o, Publish)] == [
        ("1001", "hs-1"), ("1002", "hs-3"),
    ]  # fmt: skip
    assert outcomes[1] == Ignore("deal.propertyChange", "hs-2")
    assert source().translate_all(b"[]", None) == []


def test_translate_refuses_a_batch_closing_several_deals() -> None:
    batch = body(event(1, object_id=1001), event(2, object_id=1002))
    with pytest.raises(BadEvent) as info:
        source().translate(batch, None)
    assert info.value.error == "several_deals" and "translate_all" in info.value.detail
    same_deal = body(event(1, object_id=1001), event(2, object_id=1001))
    outcome = source().translate(same_deal, None)
    assert isinstance(outcome, Publish) and outcome.message_id == "hs-1"


def test_events_of_another_portal_are_refused() -> None:
    hs = source(portal_id="62515")
    assert isinstance(hs.translate(body(event()), None), Publish)
    with pytest.raises(BadEvent) as info:
        hs.translate(body(event(1), event(2, portalId=999)), None)
    assert info.value.error == "unknown_portal" and info.value.detail.startswith("[1].portalId")
    with pytest.raises(BadEvent):
        hs.translate_all(body(event(portalId=999, propertyName="amount")), None)


def test_malformed_batches_are_bad_events() -> None:
    with pytest.raises(BadEvent) as info:
        source().translate(b'{"Ada": "Byron"}', None)
    assert info.value.error == "malformed_event" and "Ada" not in info.value.detail
    with pytest.raises(BadEvent) as info:
        source().translate(body(event(objectId=...)), None)
    assert info.value.error == "malformed_event" and "objectId" in info.value.detail
    # An event we ignore needs no objectId.
    assert isinstance(source().translate(body(event(objectId=..., propertyName="amount")), None), Ignore)
