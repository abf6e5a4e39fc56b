"""The webhook endpoint of the callback bridge, through the ASGI app with a fake publisher."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from structlog.testing import capture_logs

from workers.bridge.app import RETRY_AFTER_S, create_app
from workers.config import BridgeSettings

from .support import (
    DOWNLOAD_URL,
    OTHER_SECRET,
    PERSONAL_EMAIL,
    PERSONAL_NAME,
    PROVIDER,
    SECRET,
    FakePublisher,
    counter,
    make_event,
    signed,
    verifiers,
)

URL = f"/webhooks/{PROVIDER}"


async def post(client: httpx.AsyncClient, body: bytes, headers: dict[str, str], url: str = URL) -> httpx.Response:
    return await client.post(url, content=body, headers=headers)


# -- the good path ---------------------------------------------------------------------------------------


async def test_good_delivery_publishes_once(client, publisher: FakePublisher, settings: BridgeSettings):
    before = counter(PROVIDER, "published")
    body, headers = signed()

    response = await post(client, body, headers)

    assert response.status_code == 202
    assert response.json() == {"status": "published", "message": "contract-ready"}
    assert len(publisher.calls) == 1
    call = publisher.calls[0]
    assert call.name == "contract-ready"
    assert call.correlation_key == "doc_42"
    assert call.message_id == "evt_0001"
    assert call.ttl_ms == settings.message_ttl_s * 1000 == 600_000
    assert call.variables == {"contractStatus": "ready", "contractEventId": "evt_0001"}
    assert counter(PROVIDER, "published") == before + 1


async def test_failed_document_maps_to_contract_failed(client, publisher: FakePublisher):
    body, headers = signed(make_event(event_id="evt_f", event_type="document.failed", status="failed"))

    response = await post(client, body, headers)

    assert response.status_code == 202
    assert response.json() == {"status": "published", "message": "contract-failed"}
    assert publisher.calls[0].name == "contract-failed"
    assert publisher.calls[0].variables == {"contractStatus": "failed", "contractEventId": "evt_f"}


async def test_same_delivery_three_times_is_deduplicated_by_message_id(client, publisher: FakePublisher):
    body, headers = signed()
    before = counter(PROVIDER, "duplicate")

    responses = [await post(client, body, headers) for _ in range(3)]

    assert [r.status_code for r in responses] == [202, 202, 202]
    assert [r.json()["status"] for r in responses] == ["published", "duplicate", "duplicate"]
    assert {c.message_id for c in publisher.calls} == {"evt_0001"}
    assert len(publisher.calls) == 3
    assert counter(PROVIDER, "duplicate") == before + 2


async def test_variables_carry_no_metadata_and_no_url(client, publisher: FakePublisher):
    body, headers = signed()

    await post(client, body, headers)

    variables = publisher.calls[0].variables
    assert set(variables) == {"contractStatus", "contractEventId"}
    flat = json.dumps(variables)
    for value in (PERSONAL_NAME, PERSONAL_EMAIL, DOWNLOAD_URL, "req-7", "http"):
        assert value not in flat


async def test_unknown_event_type_is_acknowledged_and_not_published(client, publisher: FakePublisher):
    before = counter(PROVIDER, "ignored")
    # A future event type may have another shape altogether: only id and type are required.
    event = {"event_id": "evt_new", "event_type": "template.updated", "occurred_at": "2025-06-01T12:00:00Z"}
    body, headers = signed(event)

    with capture_logs() as logs:
        response = await post(client, body, headers)

    assert response.status_code == 202
    assert response.json() == {"status": "ignored"}
    assert publisher.calls == []
    assert counter(PROVIDER, "ignored") == before + 1
    assert [e["outcome"] for e in logs if e["event"] == "bridge.webhook"] == ["ignored"]
    assert logs[-1]["event_type"] == "template.updated"


# -- signatures --------------------------------------------------------------------------------------------


async def test_bad_signature_is_401_and_nothing_published(client, publisher: FakePublisher):
    before = counter(PROVIDER, "invalid_signature")
    body, headers = signed(secret=OTHER_SECRET)

    response = await post(client, body, headers)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_signature"
    assert response.json()["detail"]
    assert publisher.calls == []
    assert counter(PROVIDER, "invalid_signature") == before + 1


async def test_tampered_body_is_401(client, publisher: FakePublisher):
    body, headers = signed()
    tampered = body.replace(b"doc_42", b"doc_43")

    response = await post(client, tampered, headers)

    assert response.status_code == 401
    assert publisher.calls == []


async def test_signature_from_other_event_id_is_401(client, publisher: FakePublisher):
    body, headers = signed()
    headers["webhook-id"] = "evt_other"  # the id is part of what is signed

    response = await post(client, body, headers)

    assert response.status_code == 401
    assert publisher.calls == []


@pytest.mark.parametrize("age_s", [120, 10_000, -120])
async def test_timestamp_outside_tolerance_is_401(client, publisher: FakePublisher, age_s: float):
    # The settings fixture has a 60 s tolerance: 120 s is fine for the library's 5 minutes but not for us.
    body, headers = signed(timestamp=time.time() - age_s)

    response = await post(client, body, headers)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_signature"
    assert "tolerance" in response.json()["detail"]
    assert publisher.calls == []


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
async def test_missing_signature_header_is_401(client, publisher: FakePublisher, missing: str):
    body, headers = signed()
    del headers[missing]

    response = await post(client, body, headers)

    assert response.status_code == 401
    assert response.json() == {"error": "invalid_signature", "detail": "missing signature headers"}
    assert publisher.calls == []


async def test_malformed_signature_header_is_401(client, publisher: FakePublisher):
    body, headers = signed()
    headers["webhook-signature"] = "garbage"

    response = await post(client, body, headers)

    assert response.status_code == 401
    assert publisher.calls == []


async def test_each_provider_has_its_own_secret(publisher: FakePublisher, settings: BridgeSettings):
    app = create_app(publisher, verifiers(**{PROVIDER: SECRET, "other": OTHER_SECRET}), settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bridge") as client:
        body, headers = signed(secret=SECRET)
        assert (await post(client, body, headers, url="/webhooks/other")).status_code == 401
        body, headers = signed(secret=OTHER_SECRET)
        assert (await post(client, body, headers, url="/webhooks/other")).status_code == 202


# -- routing and body limits -------------------------------------------------------------------------------


async def test_unknown_provider_is_404_before_the_body_is_read(client, publisher: FakePublisher):
    consumed = 0

    async def body_stream() -> AsyncIterator[bytes]:
        nonlocal consumed
        for _ in range(3):
            consumed += 1
            yield b"{}"

    before = counter("unknown", "unknown_provider")
    response = await client.post("/webhooks/nobody", content=body_stream())

    assert response.status_code == 404
    assert response.json() == {"error": "unknown_provider"}
    assert consumed == 0
    assert publisher.calls == []
    # The path is attacker-controlled: it never becomes a label value.
    assert counter("unknown", "unknown_provider") == before + 1
    assert counter("nobody", "unknown_provider") == 0


async def test_get_on_webhook_is_405(client):
    assert (await client.get(URL)).status_code == 405


async def test_content_length_over_limit_is_413_at_once(client, publisher: FakePublisher, settings: BridgeSettings):
    consumed = 0

    async def body_stream() -> AsyncIterator[bytes]:
        nonlocal consumed
        consumed += 1
        yield b"x" * 10

    before = counter(PROVIDER, "body_too_large")
    headers = {"content-length": str(settings.max_body_bytes + 1)}
    response = await client.post(URL, content=body_stream(), headers=headers)

    assert response.status_code == 413
    assert response.json()["error"] == "body_too_large"
    assert consumed == 0
    assert publisher.calls == []
    assert counter(PROVIDER, "body_too_large") == before + 1


async def test_signed_body_over_limit_is_413(client, publisher: FakePublisher, settings: BridgeSettings):
    body, headers = signed(make_event(metadata={"pad": "x" * settings.max_body_bytes}))

    response = await post(client, body, headers)

    assert response.status_code == 413
    assert publisher.calls == []


async def test_chunked_stream_over_limit_is_413_without_reading_it_all(
    client, publisher: FakePublisher, settings: BridgeSettings
):
    chunk = b"x" * 1024
    total_chunks = 100
    consumed = 0

    async def body_stream() -> AsyncIterator[bytes]:
        nonlocal consumed
        for _ in range(total_chunks):
            consumed += 1
            yield chunk

    _, headers = signed()
    response = await client.post(URL, content=body_stream(), headers=headers)

    assert response.status_code == 413
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert consumed <= settings.max_body_bytes // len(chunk) + 1 < total_chunks
    assert publisher.calls == []


async def test_invalid_content_length_is_400(client, publisher: FakePublisher):
    body, headers = signed()
    headers["content-length"] = "-5"

    async def body_stream() -> AsyncIterator[bytes]:
        yield body

    response = await client.post(URL, content=body_stream(), headers=headers)

    assert response.status_code == 400
    assert publisher.calls == []


# -- the event ----------------------------------------------------------------------------------------------


async def test_malformed_json_is_400_and_nothing_published(client, publisher: FakePublisher):
    body, headers = signed(body=b'{"event_id": "evt_0001", ', event_id="evt_0001")

    response = await post(client, body, headers)

    assert response.status_code == 400
    assert response.json() == {"error": "malformed_event", "detail": "body is not valid JSON"}
    assert publisher.calls == []


async def test_json_that_is_not_an_object_is_400(client, publisher: FakePublisher):
    body, headers = signed(body=b'["evt_0001"]', event_id="evt_0001")

    response = await post(client, body, headers)

    assert response.status_code == 400
    assert response.json()["error"] == "malformed_event"
    assert publisher.calls == []


async def test_missing_doc_id_is_400_naming_the_field(client, publisher: FakePublisher):
    event = make_event()
    del event["doc_id"]
    body, headers = signed(event)

    response = await post(client, body, headers)

    assert response.status_code == 400
    assert response.json()["error"] == "malformed_event"
    assert "doc_id" in response.json()["detail"]
    assert publisher.calls == []


async def test_invalid_field_values_are_not_echoed(client, publisher: FakePublisher):
    body, headers = signed(make_event(doc_id={"name": PERSONAL_NAME}, occurred_at="not-a-date-" + PERSONAL_EMAIL))

    response = await post(client, body, headers)

    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "doc_id" in detail and "occurred_at" in detail
    assert PERSONAL_NAME not in response.text and PERSONAL_EMAIL not in response.text
    assert publisher.calls == []


async def test_webhook_id_must_equal_event_id(client, publisher: FakePublisher):
    # Validly signed by the provider's secret, but the signed id is not the body's event id.
    body, headers = signed(make_event(event_id="evt_body"), event_id="evt_header")

    response = await post(client, body, headers)

    assert response.status_code == 400
    assert response.json()["error"] == "event_id_mismatch"
    assert publisher.calls == []


# -- Zeebe unavailable -------------------------------------------------------------------------------------


async def test_publisher_unavailable_is_503_with_retry_after(client, publisher: FakePublisher):
    publisher.unavailable = True
    before = counter(PROVIDER, "unavailable")
    body, headers = signed()

    response = await post(client, body, headers)

    assert response.status_code == 503
    assert response.headers["retry-after"] == str(RETRY_AFTER_S) == "5"
    assert response.json()["error"] == "zeebe_unavailable"
    assert counter(PROVIDER, "unavailable") == before + 1

    # The provider retries once Zeebe is back: the very same delivery is then published.
    publisher.unavailable = False
    retry = await post(client, body, headers)
    assert retry.status_code == 202
    assert retry.json()["status"] == "published"


async def test_unexpected_publisher_failure_is_500(app, publisher: FakePublisher, client):
    async def broken(**kwargs):
        raise KeyError("unexpected")

    publisher.publish = broken  # type: ignore[method-assign]
    body, headers = signed()

    response = await post(client, body, headers)

    assert response.status_code == 500
    assert response.json() == {"error": "internal_error"}


# -- health, readiness, metrics ------------------------------------------------------------------------------


async def test_healthz_is_always_200(client, publisher: FakePublisher):
    publisher.is_ready = False
    assert (await client.get("/healthz")).status_code == 200


@pytest.mark.parametrize(("is_ready", "raises", "expected"), [(True, False, 200), (False, False, 503), (True, True, 503)])
async def test_readyz_follows_the_publisher(client, publisher: FakePublisher, is_ready, raises, expected):
    publisher.is_ready = is_ready
    publisher.ready_raises = raises
    assert (await client.get("/readyz")).status_code == expected


async def test_metrics_endpoint_exposes_the_counter(client):
    body, headers = signed()
    await post(client, body, headers)

    response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'contract_bridge_webhooks_total{outcome="published",provider="contractize"}' in response.text


# -- logs -------------------------------------------------------------------------------------------------


async def test_one_log_line_per_delivery_with_the_facts(client):
    body, headers = signed()

    with capture_logs() as logs:
        await post(client, body, headers)

    lines = [e for e in logs if e["event"] == "bridge.webhook"]
    assert len(lines) == 1
    line = lines[0]
    assert line["provider"] == PROVIDER
    assert line["event_id"] == "evt_0001"
    assert line["event_type"] == "document.ready"
    assert line["doc_id"] == "doc_42"
    assert line["outcome"] == "published"
    assert line["status_code"] == 202


async def test_logs_never_contain_body_values_headers_or_secret(client, publisher: FakePublisher):
    good_body, good_headers = signed()
    bad_body, bad_headers = signed(secret=OTHER_SECRET)
    malformed = make_event()
    del malformed["doc_id"]
    malformed_body, malformed_headers = signed(malformed)

    with capture_logs() as logs:
        await post(client, good_body, good_headers)
        await post(client, bad_body, bad_headers)
        await post(client, malformed_body, malformed_headers)
        publisher.unavailable = True
        await post(client, *signed(make_event(event_id="evt_9")))

    assert [e.get("status_code") for e in logs if e["event"] == "bridge.webhook"] == [202, 401, 400, 503]
    text = repr(logs)
    forbidden = [
        SECRET,
        OTHER_SECRET,
        PERSONAL_NAME,
        PERSONAL_EMAIL,
        DOWNLOAD_URL,
        "CAPABILITY",
        "req-7",
        "metadata",
        good_headers["webhook-signature"],
        bad_headers["webhook-signature"],
        good_body.decode(),
    ]
    for value in forbidden:
        assert value not in text, value
    for entry in logs:
        assert not {"body", "headers", "secret", "variables"} & set(entry)
