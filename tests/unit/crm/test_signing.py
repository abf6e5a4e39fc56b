from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest
from starlette.datastructures import Headers

from workers.crm.signing import (
    FUTURE_SKEW_S,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    HubSpotVerifier,
    canonical_uri,
    check_secret,
    sign,
    signature,
)
from workers.signing import SecretInvalid, SignatureError

SECRET = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
OLD_SECRET = "0f9e8d7c-6b5a-4321-8765-fedcba987654"
URI = "https://hooks.example.com/webhooks/hubspot"
BODY = (
    b'[{"eventId":100,"subscriptionId":7001,"portalId":62515,"appId":54321,"occurredAt":1769885000000,'
    b'"subscriptionType":"deal.propertyChange","attemptNumber":0,"objectId":1001,"propertyName":"dealstage",'
    b'"propertyValue":"closedwon","changeSource":"CRM_UI"}]'
)
NOW = 1_769_885_000.0
NOW_MS = int(NOW * 1000)


def verifier(*secrets: str, uri: str = URI, max_age_s: float = 300) -> HubSpotVerifier:
    return HubSpotVerifier.from_secrets(*(secrets or (SECRET,)), uri=uri, max_age_s=max_age_s)


def test_signature_is_base64_hmac_sha256_over_method_uri_body_timestamp() -> None:
    headers = sign("POST", URI, BODY, SECRET, NOW_MS)
    # As HubSpot's docs: base64(HMAC-SHA256(clientSecret, requestMethod + requestUri + requestBody + timestamp))
    source = b"POST" + URI.encode() + BODY + str(NOW_MS).encode()
    expected = base64.b64encode(hmac.new(SECRET.encode(), source, hashlib.sha256).digest()).decode()
    assert headers == {HEADER_SIGNATURE: expected, HEADER_TIMESTAMP: str(NOW_MS)}
    assert signature("post", URI, BODY, SECRET.encode(), str(NOW_MS)) == expected


def test_default_timestamp_is_now_in_unix_milliseconds() -> None:
    before = int(time.time() * 1000)
    ts = int(sign("POST", URI, BODY, SECRET)[HEADER_TIMESTAMP])
    assert before <= ts <= int(time.time() * 1000)


def test_the_published_escapes_are_decoded_in_the_uri_and_nothing_else() -> None:
    encoded = "https://hooks.example.com/hs%3Fx%3A1%2F%40%21%24%27%28%29%2A%2C%3B?a=%20b%3a%26"
    assert canonical_uri(encoded) == "https://hooks.example.com/hs?x:1/@!$'()*,;?a=%20b:%26"
    assert canonical_uri(URI) == URI
    # HubSpot signs the decoded form: a receiver configured with the encoded URL still verifies.
    headers = sign("POST", "https://hooks.example.com/hs?x:1", BODY, SECRET, NOW_MS)
    verifier(uri="https://hooks.example.com/hs%3Fx%3A1").verify(BODY, headers, 300, now=NOW)


def test_verify_accepts_a_valid_delivery_with_any_header_case() -> None:
    headers = sign("POST", URI, BODY, SECRET, NOW_MS)
    verifier().verify(BODY, headers, 300, now=NOW)
    verifier().verify(BODY, {k.lower(): v for k, v in headers.items()}, 300, now=NOW)
    verifier().verify(BODY, {k.upper(): v for k, v in headers.items()}, 300, now=NOW)
    verifier().verify(BODY, Headers(headers={k.lower(): v for k, v in headers.items()}), 300, now=NOW)
    assert verifier().verify(BODY, headers, 300, now=NOW) is None  # HubSpot signs no event id


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"body": BODY.replace(b"closedwon", b"closedlost")}, "no matching signature"),
        ({"uri": "https://hooks.example.com/webhooks/other"}, "no matching signature"),
        ({"uri": "http://hooks.example.com/webhooks/hubspot"}, "no matching signature"),
        ({"method": "PUT"}, "no matching signature"),
        ({"secret": "forged-secret-that-is-not-ours"}, "no matching signature"),
    ],
)
def test_verify_refuses_anything_signed_differently(change: dict, reason: str) -> None:
    args = {"method": "POST", "uri": URI, "body": BODY, "secret": SECRET} | change
    headers = sign(args["method"], args["uri"], args["body"], args["secret"], NOW_MS)
    with pytest.raises(SignatureError, match=reason):
        verifier().verify(BODY, headers, 300, now=NOW)


def test_verify_refuses_stale_and_future_timestamps() -> None:
    v = verifier()
    stale = sign("POST", URI, BODY, SECRET, NOW_MS - 301_000)
    with pytest.raises(SignatureError, match="older than the 300s window"):
        v.verify(BODY, stale, 300, now=NOW)
    v.verify(BODY, sign("POST", URI, BODY, SECRET, NOW_MS - 299_000), 300, now=NOW)
    with pytest.raises(SignatureError, match="older than the 60s window"):  # the bridge's tolerance may be tighter
        v.verify(BODY, sign("POST", URI, BODY, SECRET, NOW_MS - 61_000), 60, now=NOW)
    with pytest.raises(SignatureError, match="older than the 300s window"):  # ...but never wider than 5 minutes
        v.verify(BODY, stale, 3600, now=NOW)
    with pytest.raises(SignatureError, match="older than the 120s window"):
        verifier(max_age_s=120).verify(BODY, sign("POST", URI, BODY, SECRET, NOW_MS - 121_000), 300, now=NOW)
    ahead = int((NOW + FUTURE_SKEW_S + 1) * 1000)
    with pytest.raises(SignatureError, match="in the future"):
        v.verify(BODY, sign("POST", URI, BODY, SECRET, ahead), 300, now=NOW)
    v.verify(BODY, sign("POST", URI, BODY, SECRET, NOW_MS + 5_000), 300, now=NOW)  # small clock skew


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing X-HubSpot-Signature-v3 and X-HubSpot-Request-Timestamp header"),
        ({HEADER_TIMESTAMP: str(NOW_MS)}, "missing X-HubSpot-Signature-v3 header"),
        ({HEADER_SIGNATURE: "abc="}, "missing X-HubSpot-Request-Timestamp header"),
        ({HEADER_SIGNATURE: "abc=", HEADER_TIMESTAMP: "2026-01-31T18:42:00Z"}, "not Unix milliseconds"),
        ({HEADER_SIGNATURE: "abc=", HEADER_TIMESTAMP: "1e12"}, "not Unix milliseconds"),
        ({HEADER_SIGNATURE: "not base64!", HEADER_TIMESTAMP: str(NOW_MS)}, "not base64"),
        ({HEADER_SIGNATURE: "c2hvcnQ=", HEADER_TIMESTAMP: str(NOW_MS)}, "no matching signature"),
        ({"X-HubSpot-Signature": "a" * 64, "X-HubSpot-Signature-Version": "v1"}, "missing"),
    ],
)
def test_verify_refuses_malformed_headers_with_safe_reasons(headers: dict, reason: str) -> None:
    with pytest.raises(SignatureError, match=reason) as info:
        verifier().verify(BODY, headers, 300, now=NOW)
    assert SECRET not in str(info.value) and "closedwon" not in str(info.value)


def test_rotation_accepts_the_current_and_the_previous_secret() -> None:
    both = verifier(SECRET, OLD_SECRET)
    assert both.key_count == 2 and verifier().key_count == 1
    both.verify(BODY, sign("POST", URI, BODY, SECRET, NOW_MS), 300, now=NOW)
    both.verify(BODY, sign("POST", URI, BODY, OLD_SECRET, NOW_MS), 300, now=NOW)
    with pytest.raises(SignatureError):
        verifier(SECRET).verify(BODY, sign("POST", URI, BODY, OLD_SECRET, NOW_MS), 300, now=NOW)


@pytest.mark.parametrize(
    ("secret", "reason"),
    [("", "is empty"), ("   ", "is empty"), (" " + SECRET, "has leading or trailing whitespace"),
     ("x7Qz", "is too short")],
)  # fmt: skip
def test_unusable_secrets_are_refused_without_their_value(secret: str, reason: str) -> None:
    with pytest.raises(SecretInvalid, match=reason) as info:
        check_secret(secret)
    assert secret.strip() == "" or secret.strip() not in str(info.value)
    with pytest.raises(SecretInvalid, match=f"previous secret {reason}"):
        HubSpotVerifier.from_secrets(SECRET, secret, uri=URI)


def test_the_verifier_needs_an_absolute_uri_and_a_key() -> None:
    with pytest.raises(ValueError, match="absolute http"):
        HubSpotVerifier.from_secrets(SECRET, uri="/webhooks/hubspot")
    with pytest.raises(SecretInvalid):
        HubSpotVerifier([], uri=URI)
