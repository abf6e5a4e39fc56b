"""Authentication of deliveries: verifiers built from settings (rotation, forged dev-secret deliveries),
the body deadline and the concurrency limit, through the ASGI app with a fake publisher."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from workers.bridge.app import RETRY_AFTER_S, create_app
from workers.bridge.auth import WebhookAuthenticator, build_verifiers
from workers.config import DEV_WEBHOOK_SECRET, BridgeSettings, ProviderSettings
from workers.secret_checks import SecretProblem

from .support import PROVIDER, SECRET, FakePublisher, counter, make_event, signed, verifiers

URL = f"/webhooks/{PROVIDER}"
REAL_SECRET = "whsec_cmVhbC1wcm9kdWN0aW9uLXdlYmhvb2sta2V5LTMyYg=="  # 31 random-looking bytes
OLD_SECRET = "the-secret-being-rotated-out-0001"
THIRD_SECRET = "a-secret-nobody-configured-00001"


def provider(**secrets: str) -> ProviderSettings:
    return ProviderSettings(callback_url=f"http://bridge.example/webhooks/{PROVIDER}", **secrets)


def client_for(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bridge")


async def deliver(client: httpx.AsyncClient, secret: str, event_id: str) -> httpx.Response:
    body, headers = signed(make_event(event_id=event_id), secret=secret)
    return await client.post(URL, content=body, headers=headers)


# -- verifiers from settings: the composition root ---------------------------------------------------------


async def test_a_delivery_forged_with_the_dev_secret_is_never_published(settings: BridgeSettings):
    publisher = FakePublisher()
    app = create_app(publisher, build_verifiers(provider(webhook_secret=REAL_SECRET), dev=False), settings)
    async with client_for(app) as client:
        forged = await deliver(client, DEV_WEBHOOK_SECRET, "evt_forged")
        genuine = await deliver(client, REAL_SECRET, "evt_genuine")

    assert forged.status_code == 401
    assert forged.json()["error"] == "invalid_signature"
    assert genuine.status_code == 202
    assert [c.message_id for c in publisher.calls] == ["evt_genuine"]


def test_without_a_secret_outside_dev_no_verifier_is_built():
    with pytest.raises(SecretProblem, match="CONTRACTIZE_WEBHOOK_SECRET is not set"):
        build_verifiers(provider(), dev=False)


def test_the_dev_secret_is_refused_outside_dev_and_used_in_dev():
    with pytest.raises(SecretProblem, match="development value"):
        build_verifiers(provider(webhook_secret=DEV_WEBHOOK_SECRET), dev=False)
    assert {PROVIDER, "bamboohr"} <= set(build_verifiers(provider(), dev=True))


async def test_rotation_accepts_the_current_and_the_previous_secret_and_nothing_else(settings: BridgeSettings):
    publisher = FakePublisher()
    built = build_verifiers(provider(webhook_secret=REAL_SECRET, webhook_secret_previous=OLD_SECRET), dev=False)
    app = create_app(publisher, built, settings)
    async with client_for(app) as client:
        old = await deliver(client, OLD_SECRET, "evt_old")
        new = await deliver(client, REAL_SECRET, "evt_new")
        third = await deliver(client, THIRD_SECRET, "evt_third")

    assert (old.status_code, new.status_code, third.status_code) == (202, 202, 401)
    assert [c.message_id for c in publisher.calls] == ["evt_old", "evt_new"]


async def test_rotation_with_both_signatures_in_one_header(settings: BridgeSettings):
    # A Standard Webhooks sender rotating its secret signs with both; only the new one is configured here.
    publisher = FakePublisher()
    app = create_app(publisher, build_verifiers(provider(webhook_secret=REAL_SECRET), dev=False), settings)
    body, old_headers = signed(make_event(event_id="evt_both"), secret=OLD_SECRET)
    _, new_headers = signed(make_event(event_id="evt_both"), secret=REAL_SECRET,
                            timestamp=float(old_headers["webhook-timestamp"]))  # fmt: skip
    headers = dict(new_headers)
    headers["webhook-signature"] = f"{old_headers['webhook-signature']} {new_headers['webhook-signature']}"
    async with client_for(app) as client:
        response = await client.post(URL, content=body, headers=headers)

    assert response.status_code == 202
    assert [c.message_id for c in publisher.calls] == ["evt_both"]


def test_the_app_takes_verifiers_not_raw_secrets(settings: BridgeSettings):
    with pytest.raises(TypeError, match="WebhookVerifier"):
        WebhookAuthenticator({PROVIDER: SECRET}, settings)  # type: ignore[dict-item]


# -- a slow client -----------------------------------------------------------------------------------------


async def test_a_body_that_never_completes_is_408_and_nothing_published():
    settings = BridgeSettings(body_timeout_s=0.2, max_body_bytes=4096, message_ttl_s=600)
    publisher = FakePublisher()
    app = create_app(publisher, verifiers(), settings)
    body, headers = signed()
    stalled = asyncio.Event()  # never set: the client sends half the body, then nothing

    async def half_then_stall() -> AsyncIterator[bytes]:
        yield body[: len(body) // 2]
        await stalled.wait()

    before = counter(PROVIDER, "body_timeout")
    async with client_for(app) as client:
        response = await asyncio.wait_for(client.post(URL, content=half_then_stall(), headers=headers), 60)

    assert response.status_code == 408
    assert response.json()["error"] == "body_timeout"
    assert response.headers["connection"] == "close"
    assert publisher.calls == []
    assert counter(PROVIDER, "body_timeout") == before + 1


# -- bounded concurrency -----------------------------------------------------------------------------------


async def wait_for_calls(publisher: FakePublisher, count: int) -> None:
    for _ in range(3000):  # generous: up to ~60 s on a loaded machine
        if len(publisher.calls) >= count:
            return
        await asyncio.sleep(0.02)
    pytest.fail(f"expected {count} deliveries in flight, saw {len(publisher.calls)}")


async def test_deliveries_beyond_the_limit_get_503_with_retry_after_at_once():
    settings = BridgeSettings(max_concurrency=2, max_body_bytes=4096, message_ttl_s=600)
    publisher = FakePublisher(gate=asyncio.Event())
    app = create_app(publisher, verifiers(), settings)
    before = counter(PROVIDER, "busy")
    async with client_for(app) as client:
        held = [asyncio.create_task(deliver(client, SECRET, f"evt_{i}")) for i in range(2)]
        await wait_for_calls(publisher, 2)

        refused = await deliver(client, SECRET, "evt_extra")
        health = await client.get("/healthz")  # only webhooks count against the limit

        publisher.gate.set()
        done = await asyncio.wait_for(asyncio.gather(*held), 60)
        after = await deliver(client, SECRET, "evt_extra")

    assert refused.status_code == 503
    assert refused.headers["retry-after"] == str(RETRY_AFTER_S)
    assert refused.json()["error"] == "busy"
    assert health.status_code == 200
    assert [r.status_code for r in done] == [202, 202]
    assert after.status_code == 202
    assert sorted(c.message_id for c in publisher.calls) == ["evt_0", "evt_1", "evt_extra"]
    assert counter(PROVIDER, "busy") == before + 1
