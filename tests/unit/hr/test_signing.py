from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from starlette.datastructures import Headers

from workers.hr.signing import (
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    BambooHrVerifier,
    HrEvent,
    MalformedHrEvent,
    event_id,
    parse_event,
    parse_timestamp,
    sign,
)
from workers.signing import SecretInvalid, SignatureError

KEY = "webhook-private-key-0123456789"
OLD_KEY = "previous-private-key-abcdefghij"
BODY = (
    b'{"type":"employee.updated","timestamp":"2026-01-31T18:42:00+0000",'
    b'"data":{"companyId":"12345","employeeId":"67890","changedFields":["firstName"]}}'
)
NOW = 1_769_885_000.0


def verifier(*keys: str) -> BambooHrVerifier:
    return BambooHrVerifier.from_keys(*keys) if keys else BambooHrVerifier.from_keys(KEY)


def test_signature_is_hex_hmac_sha256_over_body_then_timestamp() -> None:
    headers = sign(BODY, KEY, "1769885000")
    # As BambooHR's PHP example: hash_hmac('sha256', $body . $timestamp, $privateKey)
    expected = hmac.new(KEY.encode(), BODY + b"1769885000", hashlib.sha256).hexdigest()
    assert headers == {HEADER_TIMESTAMP: "1769885000", HEADER_SIGNATURE: expected}
    assert expected == expected.lower() and len(expected) == 64


def test_default_timestamp_is_now_in_unix_seconds() -> None:
    before = int(time.time())
    ts = int(sign(BODY, KEY)[HEADER_TIMESTAMP])
    assert before <= ts <= int(time.time())


def test_verify_accepts_a_valid_delivery_with_any_header_case() -> None:
    headers = sign(BODY, KEY, str(int(NOW)))
    verifier().verify(BODY, headers, 300, now=NOW)
    verifier().verify(BODY, {k.lower(): v for k, v in headers.items()}, 300, now=NOW)
    verifier().verify(BODY, {k.upper(): v for k, v in headers.items()}, 300, now=NOW)
    verifier().verify(BODY, Headers(headers={k.lower(): v for k, v in headers.items()}), 300, now=NOW)


def test_verify_accepts_an_iso_8601_timestamp_header() -> None:
    ts = "2026-01-31T18:43:20+00:00"
    headers = sign(BODY, KEY, ts)
    verifier().verify(BODY, headers, 60, now=parse_timestamp(ts) + 30)
    assert parse_timestamp("2026-01-31T18:43:20+0000") == parse_timestamp("2026-01-31T18:43:20Z")
    assert parse_timestamp("2026-01-31T18:43:20") == parse_timestamp(ts)  # naive = UTC


def test_rotation_accepts_the_previous_key() -> None:
    both = BambooHrVerifier.from_keys(KEY, OLD_KEY)
    assert both.key_count == 2 and verifier().key_count == 1
    both.verify(BODY, sign(BODY, OLD_KEY, str(int(NOW))), 300, now=NOW)
    both.verify(BODY, sign(BODY, KEY, str(int(NOW))), 300, now=NOW)
    with pytest.raises(SignatureError, match="no matching signature"):
        verifier().verify(BODY, sign(BODY, OLD_KEY, str(int(NOW))), 300, now=NOW)


@pytest.mark.parametrize(
    ("drop", "named"), [(HEADER_SIGNATURE, HEADER_SIGNATURE), (HEADER_TIMESTAMP, HEADER_TIMESTAMP)]
)
def test_missing_headers_are_refused(drop: str, named: str) -> None:
    headers = sign(BODY, KEY, str(int(NOW)))
    del headers[drop]
    with pytest.raises(SignatureError, match=named):
        verifier().verify(BODY, headers, 300, now=NOW)
    with pytest.raises(SignatureError, match="missing"):
        verifier().verify(BODY, {}, 300, now=NOW)


@pytest.mark.parametrize("ts", ["yesterday", "", "nan", "inf", "1e400", "9" * 80])
def test_unparsable_timestamps_are_refused(ts: str) -> None:
    headers = {HEADER_TIMESTAMP: ts, HEADER_SIGNATURE: sign(BODY, KEY, ts)[HEADER_SIGNATURE]}
    with pytest.raises(SignatureError):
        verifier().verify(BODY, headers, 300, now=NOW)


@pytest.mark.parametrize("offset", [-301, 301, -3600, 86_400])
def test_stale_and_future_timestamps_are_refused(offset: int) -> None:
    headers = sign(BODY, KEY, str(int(NOW) + offset))
    with pytest.raises(SignatureError, match="tolerance"):
        verifier().verify(BODY, headers, 300, now=NOW)


def test_tolerance_is_capped_at_300_seconds() -> None:
    headers = sign(BODY, KEY, str(int(NOW) - 400))
    with pytest.raises(SignatureError, match="300s"):
        verifier().verify(BODY, headers, 10_000, now=NOW)
    verifier().verify(BODY, sign(BODY, KEY, str(int(NOW) - 20)), 30, now=NOW)
    with pytest.raises(SignatureError, match="10s"):
        verifier().verify(BODY, sign(BODY, KEY, str(int(NOW) - 20)), 10, now=NOW)


def test_tampered_body_wrong_key_and_malformed_signature_are_refused() -> None:
    headers = sign(BODY, KEY, str(int(NOW)))
    with pytest.raises(SignatureError, match="no matching signature"):
        verifier().verify(BODY.replace(b"67890", b"67891"), headers, 300, now=NOW)
    with pytest.raises(SignatureError, match="no matching signature"):
        verifier().verify(BODY, sign(BODY, "another-key-of-enough-length", str(int(NOW))), 300, now=NOW)
    with pytest.raises(SignatureError, match="hex"):
        verifier().verify(BODY, {**headers, HEADER_SIGNATURE: "sha256=" + headers[HEADER_SIGNATURE]}, 300, now=NOW)
    # The timestamp is part of what is signed: a replay with a fresh timestamp does not verify.
    moved = {**headers, HEADER_TIMESTAMP: str(int(NOW) + 1)}
    with pytest.raises(SignatureError, match="no matching signature"):
        verifier().verify(BODY, moved, 300, now=NOW)
    # Uppercase hex is the same signature.
    verifier().verify(BODY, {**headers, HEADER_SIGNATURE: headers[HEADER_SIGNATURE].upper()}, 300, now=NOW)


def test_signature_errors_never_contain_the_key_or_the_body() -> None:
    for headers in ({}, {HEADER_TIMESTAMP: "x", HEADER_SIGNATURE: "y"}, sign(BODY, "k" * 20, str(int(NOW)))):
        with pytest.raises(SignatureError) as info:
            verifier().verify(BODY, headers, 300, now=NOW)
        assert KEY not in str(info.value) and "67890" not in str(info.value)


@pytest.mark.parametrize(
    ("current", "previous", "problem"),
    [
        ("", None, "is empty"),
        ("   ", None, "is empty"),
        (" " + KEY, None, "whitespace"),
        (KEY + "\n", None, "whitespace"),
        ("short-key", None, "too short"),
        (KEY, "", "previous key is empty"),
        (KEY, "tiny", "previous key is too short"),
    ],
)
def test_unusable_keys_are_refused_without_their_value(current: str, previous: str | None, problem: str) -> None:
    with pytest.raises(SecretInvalid, match=problem) as info:
        BambooHrVerifier.from_keys(current, previous)
    for value in (current.strip(), previous):
        if value:
            assert value not in str(info.value)


def test_event_id_is_derived_from_the_body() -> None:
    event = json.loads(BODY)
    expected = "bhr-" + hashlib.sha256(b"employee.updated|12345|67890|2026-01-31T18:42:00+0000").hexdigest()[:32]
    assert event_id(event) == expected
    assert parse_event(BODY).event_id == expected
    # Ids given as numbers are the same event.
    numeric = {**event, "data": {**event["data"], "companyId": 12345, "employeeId": 67890}}
    assert event_id(numeric) == expected
    # A different event differs.
    for change in ({"timestamp": "2026-01-31T18:42:01+0000"}, {"type": "employee.created"}):
        assert event_id({**event, **change}) != expected
    assert event_id({**event, "data": {**event["data"], "employeeId": "67891"}}) != expected
    with pytest.raises(MalformedHrEvent, match="timestamp"):
        event_id({"type": "employee.created", "data": {"companyId": "1", "employeeId": "2"}})


def test_parse_event() -> None:
    event = parse_event(BODY)
    assert event == HrEvent(
        type="employee.updated", timestamp="2026-01-31T18:42:00+0000", company_id="12345", employee_id="67890",
        changed_fields=["firstName"],
    )  # fmt: skip
    created = parse_event(
        b'{"type":"employee.created","timestamp":"2026-01-31T18:42:00+0000","data":{"companyId":1,"employeeId":7}}'
    )
    assert (created.company_id, created.employee_id, created.changed_fields) == ("1", "7", [])


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b"not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b'["employee.created"]', "not a JSON object"),
        (b'{"type":"employee.created","timestamp":"2026-01-31T18:42:00+0000"}', "data"),
        (b'{"type":"employee.hired","timestamp":"t","data":{"companyId":"1","employeeId":"2"}}', "type"),
        (b'{"timestamp":"2026-01-31T18:42:00+0000","data":{"companyId":"1","employeeId":"2"}}', "type"),
        (
            b'{"type":"employee.created","timestamp":"2026-01-31T18:42:00+0000",'
            b'"data":{"companyId":"1","employeeId":"../Jane Doe"}}',
            "data.employeeId",
        ),
        (
            b'{"type":"employee.created","timestamp":"Jane Doe","data":{"companyId":"1","employeeId":"2"}}',
            "timestamp",
        ),
        (
            b'{"type":"employee.updated","timestamp":"2026-01-31T18:42:00+0000",'
            b'"data":{"companyId":"1","employeeId":"2","changedFields":["Jane Doe"]}}',
            "data.changedFields",
        ),
        (
            b'{"type":"employee.created","timestamp":"2026-01-31T18:42:00+0000","data":{"employeeId":"2"}}',
            "data.companyId",
        ),
    ],
)
def test_malformed_events_name_fields_never_values(body: bytes, named: str) -> None:
    with pytest.raises(MalformedHrEvent, match=named.replace(".", r"\.")) as info:
        parse_event(body)
    assert isinstance(info.value, ValueError)
    assert "Jane" not in str(info.value) and "hired" not in str(info.value)
