"""Helpers for the bridge unit tests: a fake publisher (emulating Zeebe's message-id dedupe) and signing."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import REGISTRY

from workers.bridge.publisher import PublisherUnavailable, PublishResult
from workers.signing import WebhookVerifier, sign

SECRET = "unit-test-webhook-secret"
OTHER_SECRET = "someone-elses-secret"
PROVIDER = "contractize"


def verifiers(**secrets: str | tuple[str, ...]) -> dict[str, WebhookVerifier]:
    """``{provider: verifier}`` as the bridge takes it; default: ``{PROVIDER: SECRET}``."""
    secrets = secrets or {PROVIDER: SECRET}
    return {
        name: WebhookVerifier.from_secrets(*(value if isinstance(value, tuple) else (value,)))
        for name, value in secrets.items()
    }


# Values that must never leave the bridge (not into Zeebe, not into logs, not into responses).
PERSONAL_NAME = "Jane Q. Personal-Data"
PERSONAL_EMAIL = "jane.personal@example.org"
DOWNLOAD_URL = "https://files.example/doc_1?sig=CAPABILITY-DO-NOT-LEAK"


@dataclass
class PublishCall:
    name: str
    correlation_key: str
    variables: dict[str, str]
    ttl_ms: int
    message_id: str


@dataclass
class FakePublisher:
    """In-memory ``MessagePublisher``; like Zeebe, a second message with a live message_id is a duplicate."""

    calls: list[PublishCall] = field(default_factory=list)
    unavailable: bool = False
    raises: BaseException | None = None  # raised by every publish (after it is recorded)
    gate: asyncio.Event | None = None  # publish waits for it (holds deliveries in flight)
    is_ready: bool = True
    ready_raises: bool = False
    _seen: set[str] = field(default_factory=set)

    async def publish(
        self, name: str, correlation_key: str, variables: dict[str, str], ttl_ms: int, message_id: str
    ) -> PublishResult:
        self.calls.append(PublishCall(name, correlation_key, dict(variables), ttl_ms, message_id))
        if self.gate is not None:
            await self.gate.wait()
        if self.raises is not None:
            raise self.raises
        if self.unavailable:
            raise PublisherUnavailable("Zeebe refused the message for now (ZeebeGatewayUnavailableError)")
        if message_id in self._seen:
            return PublishResult(duplicate=True)
        self._seen.add(message_id)
        return PublishResult(duplicate=False, key=2251799813685249 + len(self._seen))

    async def ready(self) -> bool:
        if self.ready_raises:
            raise RuntimeError("boom")
        return self.is_ready


def make_event(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": "evt_0001",
        "event_type": "document.ready",
        "doc_id": "doc_42",
        "status": "ready",
        "template_id": "nda-001",
        "metadata": {"request_id": "req-7", "employee_name": PERSONAL_NAME, "employee_email": PERSONAL_EMAIL},
        "occurred_at": "2025-06-01T12:00:00Z",
        "download_url": DOWNLOAD_URL,
    }
    event.update(overrides)
    return event


def signed(
    event: dict[str, Any] | None = None,
    *,
    body: bytes | None = None,
    secret: str = SECRET,
    event_id: str | None = None,
    timestamp: float | None = None,
) -> tuple[bytes, dict[str, str]]:
    """A delivery as the provider sends it: raw body + Standard Webhooks headers."""
    if body is None:
        event = make_event() if event is None else event
        body = json.dumps(event).encode()
    if event_id is None:
        event_id = (event or {}).get("event_id", "evt_0001")
    headers = sign(secret, event_id, body, timestamp=timestamp)
    headers["content-type"] = "application/json"
    return body, headers


def counter(provider: str, outcome: str) -> float:
    value = REGISTRY.get_sample_value("contract_bridge_webhooks_total", {"provider": provider, "outcome": outcome})
    return value or 0.0
