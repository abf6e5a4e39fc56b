"""SpotDraft webhook signatures (hex HMAC-SHA512 of the raw body, base64 key), the event, and the bridge's
SpotDraftSource (what reaches Zeebe, and what never does)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from workers.bridge.sources import BadEvent, Ignore, Publish, WebhookSource
from workers.providers.spotdraft.settings import DEV_SPOTDRAFT_HMAC_KEY
from workers.providers.spotdraft.webhooks import (
    HEADER_SIGNATURE,
    MalformedSpotDraftEvent,
    SecretInvalid,
    SignatureError,
    SpotDraftSource,
    SpotDraftVerifier,
    decode_key,
    message_id,
    parse_event,
    sign,
)

KEY = base64.b64encode(bytes(range(64))).decode()  # SpotDraft's keys are 64 random bytes
OTHER = base64.b64encode(b"another-workspace-key-of-enough-length!!").decode()


def event(activity: str = "CONTRACT_EXECUTED", contract_id: object = 19589, status: str = "EXECUTED",
          timestamp: str = "2021-08-22T03:53:52.201442Z", **extra: object) -> bytes:  # fmt: skip
    body = {
        "contract_id": contract_id, "contract_kind": "TEMPLATE_CONTRACT", "contract_title": "Ada Lovelace NDA",
        "contract_type": "NDA", "contract_type_name": "NDA", "contract_type_id": 135, "contract_status": status,
        "business_user": {"name": "Grace Hopper", "email": "grace@example.com"}, "created_at": "2021-08-22T03:48:52Z",
        "counterparties": [{"type": "Individual", "poc_name": "Ada Lovelace", "poc_email": "ada@example.com"}],
        "external_metadata": {"id": "deal-7", "owner_email": "owner@example.com"},
        "activity_data": {"performed_by": {"name": "Ada Lovelace", "email": "ada@example.com"}, "timestamp": timestamp},
        "activity": activity, **extra,
    }  # fmt: skip
    return json.dumps(body).encode()


# --- keys and signatures -----------------------------------------------------------------------------


def test_the_published_recipe_verifies() -> None:
    body = event()
    published = hmac.new(base64.b64decode(KEY), body, digestmod=hashlib.sha512).hexdigest()
    assert sign(body, KEY) == {HEADER_SIGNATURE: published}
    SpotDraftVerifier.from_keys(KEY).verify(body, {HEADER_SIGNATURE: published}, 300)
    SpotDraftVerifier.from_keys(KEY).verify(body, {HEADER_SIGNATURE.lower(): published.upper()}, 300)


@pytest.mark.parametrize(
    ("key", "problem"),
    [("", "is empty"), (" " + KEY, "whitespace"), ("not base64!!", "not base64"), ("c2hvcnQ=", "too short (5 bytes"),
     ("a", "not base64")],
)  # fmt: skip
def test_unusable_keys_are_refused_without_their_value(key: str, problem: str) -> None:
    with pytest.raises(SecretInvalid) as err:
        SpotDraftVerifier.from_keys(key)
    assert problem in str(err.value)
    if len(key) > 3:
        assert key.strip() not in str(err.value)
    with pytest.raises(SecretInvalid, match="previous key"):
        SpotDraftVerifier.from_keys(KEY, "c2hvcnQ=")


def test_unpadded_keys_and_the_dev_key_decode() -> None:
    assert decode_key(KEY.rstrip("=")) == bytes(range(64))
    assert decode_key(DEV_SPOTDRAFT_HMAC_KEY).startswith(b"dev-spotdraft-hmac-key")


@pytest.mark.parametrize(
    ("headers", "problem"),
    [({}, "missing X-SD-WEBHOOK-CONTENT-HASH"), ({HEADER_SIGNATURE: ""}, "missing"),
     ({HEADER_SIGNATURE: "abc"}, "not a hex SHA-512"), ({HEADER_SIGNATURE: "z" * 128}, "not a hex SHA-512")],
)  # fmt: skip
def test_missing_or_malformed_signatures(headers: dict[str, str], problem: str) -> None:
    with pytest.raises(SignatureError, match=problem):
        SpotDraftVerifier.from_keys(KEY).verify(event(), headers, 300)


def test_a_wrong_key_or_a_changed_body_is_refused_and_the_previous_key_accepted() -> None:
    body = event()
    verifier = SpotDraftVerifier.from_keys(KEY)
    with pytest.raises(SignatureError, match="no matching signature"):
        verifier.verify(body, sign(body, OTHER), 300)
    with pytest.raises(SignatureError):
        verifier.verify(body + b" ", sign(body, KEY), 300)
    rotating = SpotDraftVerifier.from_keys(OTHER, KEY)
    assert rotating.key_count == 2
    rotating.verify(body, sign(body, KEY), 300)
    rotating.verify(body, sign(body, OTHER), 0)  # no timestamp: the tolerance is unused


# --- events ------------------------------------------------------------------------------------------


def test_parse_event_keeps_ids_status_and_timestamp_only() -> None:
    parsed = parse_event(event())
    assert (parsed.activity, parsed.contract_id, parsed.contract_status) == ("CONTRACT_EXECUTED", 19589, "EXECUTED")
    assert parsed.timestamp == "2021-08-22T03:53:52.201442Z"
    assert "Ada" not in repr(parsed)


@pytest.mark.parametrize(
    ("body", "fields"),
    [(event(contract_id="19589"), ["contract_id"]), (event(contract_id=True), ["contract_id"]),
     (event(contract_id=0), ["contract_id"]), (event(status="ada@example.com"), ["contract_status"]),
     (event(timestamp="<script>"), ["activity_data.timestamp"]), (event(activity="nope"), ["activity"]),
     (event(activity_data=None), ["activity_data.timestamp"])],
)  # fmt: skip
def test_malformed_events_name_fields_not_values(body: bytes, fields: list[str]) -> None:
    with pytest.raises(MalformedSpotDraftEvent) as err:
        parse_event(body)
    assert err.value.fields == fields and "ada" not in str(err.value) and "script" not in str(err.value)
    for junk in (b"{", b"[]", b'"x"'):
        with pytest.raises(MalformedSpotDraftEvent):
            parse_event(junk)


def test_message_id_is_stable_per_event_and_differs_between_events() -> None:
    one = parse_event(event())
    assert one.message_id == message_id(one) == parse_event(event(contract_title="other")).message_id
    assert one.message_id.startswith("sd-") and len(one.message_id) == 35
    variants = (event(contract_id=19590), event(activity="CONTRACT_SIGNED"), event(timestamp="2021-08-22T03:53:52.2Z"))
    others = {parse_event(body).message_id for body in variants}
    assert one.message_id not in others and len(others) == 3


# --- the bridge's source -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("activity", "status", "name"),
    [("CONTRACT_EXECUTED", "EXECUTED", "contract-executed"),
     ("CONTRACT_SIGNATURE_DECLINED", "DRAFT", "contract-declined"),
     ("CONTRACT_VOIDED", "VOIDED", "contract-voided")],
)  # fmt: skip
def test_lifecycle_ends_become_messages(activity: str, status: str, name: str) -> None:
    source = SpotDraftSource(SpotDraftVerifier.from_keys(KEY))
    assert isinstance(source, WebhookSource)
    body = event(activity, status=status)
    published = source.translate(body, None)
    assert isinstance(published, Publish)
    eid = parse_event(body).message_id
    assert (published.name, published.correlation_key, published.message_id) == (name, "19589", eid)
    assert published.variables == {"contractStatus": status, "contractActivity": activity, "contractEventId": eid}
    assert published.ttl_ms is None
    carried = json.dumps([published.variables, published.log])
    for personal in ("Ada", "Lovelace", "Grace", "example.com", "NDA", "deal-7"):
        assert personal not in carried


def test_other_activities_are_acknowledged_and_ignored() -> None:
    source = SpotDraftSource(SpotDraftVerifier.from_keys(KEY))
    ignored = source.translate(event("CONTRACT_SIGNED", status="SIGN"), None)
    assert isinstance(ignored, Ignore) and ignored.event_type == "CONTRACT_SIGNED"
    assert ignored.event_id.startswith("sd-")
    odd = source.translate(json.dumps({"activity": "COUNTER_PARTY_CREATED"}).encode(), None)
    assert odd == Ignore("COUNTER_PARTY_CREATED")


def test_malformed_deliveries_are_bad_events() -> None:
    source = SpotDraftSource(SpotDraftVerifier.from_keys(KEY))
    with pytest.raises(BadEvent) as err:
        source.translate(event(contract_id="19589"), None)
    assert (err.value.error, err.value.event_type) == ("malformed_event", "CONTRACT_EXECUTED")
    assert "contract_id" in err.value.detail
    for body in (b"not json", b"[1]", json.dumps({"activity": 7}).encode()):
        with pytest.raises(BadEvent):
            source.translate(body, None)
