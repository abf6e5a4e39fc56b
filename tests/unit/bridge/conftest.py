"""Fixtures for the bridge unit tests (helpers live in ``support.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from workers.bridge.app import create_app
from workers.config import BridgeSettings

from .support import FakePublisher, verifiers


@pytest.fixture(autouse=True)
def hr_webhook_key(monkeypatch: pytest.MonkeyPatch):
    """Real-looking secrets of the other webhook senders (plug-ins): outside development the bridge refuses
    to start without one for each sender it serves."""
    from workers import config

    monkeypatch.setenv("BAMBOOHR_WEBHOOK_PRIVATE_KEY", "a-real-bamboohr-webhook-key-for-unit-tests")
    monkeypatch.setenv("HUBSPOT_CLIENT_SECRET", "a-real-hubspot-client-secret-for-unit-tests")
    # base64 of 48 bytes: SpotDraft's workspace hmac_key is base64
    monkeypatch.setenv("SPOTDRAFT_WEBHOOK_HMAC_KEY", "YS1yZWFsLXNwb3RkcmFmdC1obWFjLWtleS1mb3ItdW5pdC10ZXN0cy0xMjM0NTY3OA==")
    config.clear_cache()
    yield
    config.clear_cache()


@pytest.fixture
def settings() -> BridgeSettings:
    return BridgeSettings(max_body_bytes=4096, timestamp_tolerance_s=60, message_ttl_s=600)


@pytest.fixture
def publisher() -> FakePublisher:
    return FakePublisher()


@pytest.fixture
def app(publisher: FakePublisher, settings: BridgeSettings):
    return create_app(publisher, verifiers(), settings)


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bridge") as c:
        yield c
