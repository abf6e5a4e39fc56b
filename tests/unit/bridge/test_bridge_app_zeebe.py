"""What the provider is told when Zeebe pushes back, is unreachable or rejects the message for good."""

from __future__ import annotations

import httpx
from structlog.testing import capture_logs

from workers.bridge.app import RETRY_AFTER_S
from workers.bridge.publisher import PublisherBusy, PublisherUnavailable, PublishRejected

from .support import PERSONAL_EMAIL, PERSONAL_NAME, PROVIDER, FakePublisher, counter, signed

URL = f"/webhooks/{PROVIDER}"


async def test_back_pressure_is_429_with_retry_after_and_retried_later(client: httpx.AsyncClient, publisher: FakePublisher):
    publisher.raises = PublisherBusy("Zeebe is applying back-pressure (ZeebeBackPressureError, RESOURCE_EXHAUSTED)")
    before = counter(PROVIDER, "backpressure")
    body, headers = signed()

    response = await client.post(URL, content=body, headers=headers)

    assert response.status_code == 429
    assert response.headers["retry-after"] == str(RETRY_AFTER_S)
    assert response.json()["error"] == "zeebe_busy"
    assert counter(PROVIDER, "backpressure") == before + 1

    publisher.raises = None
    retry = await client.post(URL, content=body, headers=headers)
    assert (retry.status_code, retry.json()["status"]) == (202, "published")


async def test_unreachable_is_503_with_retry_after(client: httpx.AsyncClient, publisher: FakePublisher):
    publisher.raises = PublisherUnavailable("Zeebe refused the message for now (gRPC error, UNAVAILABLE)")
    body, headers = signed()

    response = await client.post(URL, content=body, headers=headers)

    assert response.status_code == 503
    assert response.headers["retry-after"] == str(RETRY_AFTER_S)
    assert response.json()["error"] == "zeebe_unavailable"


async def test_permanent_rejection_is_422_without_retry_after_and_logged_with_the_code(
    client: httpx.AsyncClient, publisher: FakePublisher
):
    publisher.raises = PublishRejected("INVALID_ARGUMENT")
    before = counter(PROVIDER, "rejected")
    body, headers = signed()

    with capture_logs() as logs:
        response = await client.post(URL, content=body, headers=headers)

    assert response.status_code == 422
    assert "retry-after" not in response.headers
    assert response.json()["error"] == "rejected"
    assert counter(PROVIDER, "rejected") == before + 1
    lines = [e for e in logs if e["event"] == "bridge.webhook"]
    assert len(lines) == 1
    assert lines[0]["log_level"] == "error"
    assert lines[0]["grpc_code"] == "INVALID_ARGUMENT"
    assert lines[0]["outcome"] == "rejected"
    for value in (PERSONAL_NAME, PERSONAL_EMAIL, body.decode()):
        assert value not in repr(logs)
