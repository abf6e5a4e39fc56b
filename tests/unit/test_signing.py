"""workers.signing: Standard Webhooks signatures, as the sandbox signs and the bridge verifies them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest

from workers.signing import (
    HEADER_ID,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    SecretInvalid,
    SignatureError,
    WebhookVerifier,
    secret_bytes,
    secret_from_text,
    sign,
    verify,
)

SECRET = "plain-shared-webhook-secret"
BODY = json.dumps({"event_id": "evt_1", "event_type": "document.ready", "doc_id": "doc_9"}).encode()


def test_round_trip_returns_the_event_id() -> None:
    headers = sign(SECRET, "evt_1", BODY)
    assert set(headers) == {HEADER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE}
    assert headers[HEADER_ID] == "evt_1"
    assert headers[HEADER_SIGNATURE].startswith("v1,")
    assert verify(SECRET, BODY, headers) == "evt_1"


def test_signature_is_hmac_sha256_over_id_timestamp_and_body() -> None:
    ts = int(time.time())
    headers = sign(SECRET, "evt_1", BODY, timestamp=ts)
    expected = hmac.new(SECRET.encode(), f"evt_1.{ts}.".encode() + BODY, hashlib.sha256).digest()
    assert headers[HEADER_TIMESTAMP] == str(ts)
    assert headers[HEADER_SIGNATURE] == "v1," + base64.b64encode(expected).decode()


def test_fractional_timestamp_is_truncated_consistently() -> None:
    ts = time.time()  # float
    headers = sign(SECRET, "evt_1", BODY, timestamp=ts)
    assert headers[HEADER_TIMESTAMP] == str(int(ts))
    assert verify(SECRET, BODY, headers) == "evt_1"


def test_tampered_body_is_refused() -> None:
    headers = sign(SECRET, "evt_1", BODY)
    with pytest.raises(SignatureError):
        verify(SECRET, BODY.replace(b"doc_9", b"doc_8"), headers)


def test_tampered_event_id_is_refused() -> None:
    headers = sign(SECRET, "evt_1", BODY)
    headers[HEADER_ID] = "evt_2"
    with pytest.raises(SignatureError):
        verify(SECRET, BODY, headers)


def test_tampered_timestamp_is_refused() -> None:
    headers = sign(SECRET, "evt_1", BODY)
    headers[HEADER_TIMESTAMP] = str(int(headers[HEADER_TIMESTAMP]) - 1)  # still inside the window
    with pytest.raises(SignatureError):
        verify(SECRET, BODY, headers)


def test_wrong_secret_is_refused() -> None:
    headers = sign("someone-elses-secret", "evt_1", BODY)
    with pytest.raises(SignatureError):
        verify(SECRET, BODY, headers)


def test_within_tolerance_with_explicit_now_is_accepted() -> None:
    ts = time.time()
    headers = sign(SECRET, "evt_1", BODY, timestamp=ts)
    assert verify(SECRET, BODY, headers, tolerance_s=60, now=ts + 59) == "evt_1"
    assert verify(SECRET, BODY, headers, tolerance_s=60, now=ts - 59) == "evt_1"


def test_stale_timestamp_beyond_tolerance_is_refused() -> None:
    ts = int(time.time())
    headers = sign(SECRET, "evt_1", BODY, timestamp=ts)
    with pytest.raises(SignatureError, match="60s tolerance"):
        verify(SECRET, BODY, headers, tolerance_s=60, now=ts + 61)


def test_stale_timestamp_against_the_real_clock_is_refused() -> None:
    headers = sign(SECRET, "evt_1", BODY, timestamp=time.time() - 120)
    with pytest.raises(SignatureError, match="tolerance"):
        verify(SECRET, BODY, headers, tolerance_s=60)


def test_future_timestamp_beyond_tolerance_is_refused() -> None:
    ts = int(time.time())
    headers = sign(SECRET, "evt_1", BODY, timestamp=ts + 120)
    with pytest.raises(SignatureError, match="tolerance"):
        verify(SECRET, BODY, headers, tolerance_s=60, now=ts)


def test_library_window_still_applies_beyond_our_tolerance() -> None:
    # A generous tolerance cannot widen the library's fixed 5-minute window.
    headers = sign(SECRET, "evt_1", BODY, timestamp=time.time() - 600)
    with pytest.raises(SignatureError):
        verify(SECRET, BODY, headers, tolerance_s=3600)


@pytest.mark.parametrize("missing", [HEADER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE])
def test_missing_header_is_refused(missing: str) -> None:
    headers = sign(SECRET, "evt_1", BODY)
    del headers[missing]
    with pytest.raises(SignatureError, match="missing signature headers"):
        verify(SECRET, BODY, headers)


@pytest.mark.parametrize("missing", [HEADER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE])
def test_empty_header_is_refused(missing: str) -> None:
    headers = sign(SECRET, "evt_1", BODY)
    headers[missing] = ""
    with pytest.raises(SignatureError, match="missing signature headers"):
        verify(SECRET, BODY, headers)


def test_no_headers_at_all_is_refused() -> None:
    with pytest.raises(SignatureError):
        verify(SECRET, BODY, {})


@pytest.mark.parametrize(
    "bad",
    [
        "garbage-without-a-comma",
        "v1,not base64!!!",
        "v1,abc",  # bad padding
        "v1",
    ],
)
def test_malformed_signature_header_is_refused(bad: str) -> None:
    headers = sign(SECRET, "evt_1", BODY)
    headers[HEADER_SIGNATURE] = bad
    with pytest.raises(SignatureError):
        verify(SECRET, BODY, headers)


def test_unknown_signature_version_is_refused() -> None:
    headers = sign(SECRET, "evt_1", BODY)
    headers[HEADER_SIGNATURE] = headers[HEADER_SIGNATURE].replace("v1,", "v2,")
    with pytest.raises(SignatureError):
        verify(SECRET, BODY, headers)


def test_one_valid_signature_among_several_is_accepted() -> None:
    # Standard Webhooks: space-separated signatures (e.g. during secret rotation).
    old = sign("old-secret", "evt_1", BODY)
    new = sign(SECRET, "evt_1", BODY, timestamp=float(old[HEADER_TIMESTAMP]))
    headers = dict(new)
    headers[HEADER_SIGNATURE] = f"{old[HEADER_SIGNATURE]} {new[HEADER_SIGNATURE]}"
    assert verify(SECRET, BODY, headers) == "evt_1"


@pytest.mark.parametrize("ts_text", ["yesterday", "", "12:00", "0x10"])
def test_non_numeric_timestamp_is_refused(ts_text: str) -> None:
    headers = sign(SECRET, "evt_1", BODY)
    headers[HEADER_TIMESTAMP] = ts_text
    with pytest.raises(SignatureError):
        verify(SECRET, BODY, headers)


def test_non_numeric_timestamp_message() -> None:
    headers = sign(SECRET, "evt_1", BODY)
    headers[HEADER_TIMESTAMP] = "yesterday"
    with pytest.raises(SignatureError, match="not a number"):
        verify(SECRET, BODY, headers)


@pytest.mark.parametrize("ts_text", ["nan", "inf", "-inf"])
def test_non_finite_timestamp_is_refused(ts_text: str) -> None:
    headers = sign(SECRET, "evt_1", BODY)
    headers[HEADER_TIMESTAMP] = ts_text
    with pytest.raises(SignatureError):
        verify(SECRET, BODY, headers)


def test_non_utf8_body_is_refused() -> None:
    headers = sign(SECRET, "evt_1", BODY)
    with pytest.raises(SignatureError, match="UTF-8"):
        verify(SECRET, b"\xff\xfe" + BODY, headers)


def test_header_names_are_case_insensitive() -> None:
    headers = sign(SECRET, "evt_1", BODY)
    shouted = {
        "Webhook-Id": headers[HEADER_ID],
        "WEBHOOK-TIMESTAMP": headers[HEADER_TIMESTAMP],
        "Webhook-Signature": headers[HEADER_SIGNATURE],
        "Content-Type": "application/json",
    }
    assert verify(SECRET, BODY, shouted) == "evt_1"


def test_whsec_secret_round_trip() -> None:
    secret = "whsec_" + base64.b64encode(b"\x00\x01random-key-bytes\xff").decode()
    headers = sign(secret, "evt_1", BODY)
    assert verify(secret, BODY, headers) == "evt_1"
    with pytest.raises(SignatureError):
        verify(SECRET, BODY, headers)


def test_plain_secret_and_its_whsec_form_are_the_same_key() -> None:
    whsec = secret_from_text(SECRET)
    assert whsec == "whsec_" + base64.b64encode(SECRET.encode()).decode()
    assert secret_from_text(whsec) == whsec
    headers = sign(SECRET, "evt_1", BODY)
    assert verify(whsec, BODY, headers) == "evt_1"


def test_error_messages_do_not_echo_secret_or_body() -> None:
    headers = sign("someone-elses-secret", "evt_1", BODY)
    with pytest.raises(SignatureError) as info:
        verify(SECRET, BODY, headers)
    text = str(info.value)
    assert SECRET not in text and "doc_9" not in text


# -- WebhookVerifier: secrets checked once, several keys (rotation) ------------------------------------------


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        ("", "is empty"),
        ("  \n", "is empty"),
        (" " + SECRET, "whitespace"),
        (SECRET + "\n", "whitespace"),
        ("whsec_", "is empty"),
        ("whsec_a", "not valid base64"),
        ("whsec_!!!!not-base64!!!!", "not valid base64"),
        ("whsec_" + base64.b64encode(b"15-bytes-long!!").decode(), "too short (15 bytes"),
        ("fifteen-chars!!", "too short (15 bytes"),
    ],
)
def test_unusable_secrets_are_refused_when_the_verifier_is_built(secret: str, reason: str) -> None:
    with pytest.raises(SecretInvalid) as info:
        WebhookVerifier.from_secrets(secret)
    assert reason in str(info.value)
    if secret.strip() and secret != "whsec_":
        assert secret.strip() not in str(info.value)


def test_shortest_accepted_secrets() -> None:
    assert WebhookVerifier.from_secrets("sixteen-chars!!!").key_count == 1
    assert secret_bytes("whsec_" + base64.b64encode(b"16-bytes-long!!!").decode().rstrip("=")) == b"16-bytes-long!!!"


def test_rotation_verifier_accepts_either_key_and_refuses_a_third() -> None:
    old, new, third = "old-secret-being-rotated-out", "new-secret-just-configured-1", "nobody-configured-this-one"
    verifier = WebhookVerifier.from_secrets(new, old)
    assert verifier.key_count == 2
    assert verifier.verify(BODY, sign(old, "evt_1", BODY)) == "evt_1"
    assert verifier.verify(BODY, sign(new, "evt_1", BODY)) == "evt_1"
    with pytest.raises(SignatureError, match="no matching signature"):
        verifier.verify(BODY, sign(third, "evt_1", BODY))


def test_garbage_entries_before_a_good_signature_do_not_hide_it() -> None:
    headers = sign(SECRET, "evt_1", BODY)
    headers[HEADER_SIGNATURE] = f"v1,%%% v1,a,b v2,xyz {headers[HEADER_SIGNATURE]}"
    assert WebhookVerifier.from_secrets(SECRET).verify(BODY, headers) == "evt_1"


def test_only_garbage_is_a_malformed_header() -> None:
    headers = sign(SECRET, "evt_1", BODY)
    headers[HEADER_SIGNATURE] = "v1,%%% v2,abc"
    with pytest.raises(SignatureError, match="malformed signature header"):
        WebhookVerifier.from_secrets(SECRET).verify(BODY, headers)


def test_one_off_verify_with_an_unusable_secret_is_a_signature_error() -> None:
    # The bridge never gets here (start-up refuses it); a tool calling verify() gets a clean refusal.
    headers = sign(SECRET, "evt_1", BODY)
    with pytest.raises(SignatureError, match="secret is empty"):
        verify("", BODY, headers)
