"""Helpers for the SpotDraft sandbox tests: settings, a frozen clock, a bridge stand-in, a thin client."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette

from workers.providers.spotdraft.settings import SpotDraftSandboxSettings
from workers.providers.spotdraft.webhooks import SpotDraftVerifier
from workers.sandbox.spotdraft.state import SdSandboxState

SETTINGS = SpotDraftSandboxSettings(webhook_url="http://bridge.test/webhooks/spotdraft")
AUTH = {"client-id": SETTINGS.client_id, "client-secret": SETTINGS.client_secret.get_secret_value()}
VERIFIER = SpotDraftVerifier.from_keys(SETTINGS.hmac_key.get_secret_value())
API = "/api/v2.1/public"
BASE = "https://sd.test"
MSA_DATA = {
    "customer_name": "Analytical Engines Ltd",
    "effective_date": "2026-01-31",
    "contract_value": {"type": "USD", "value": 12000},
    "term": {"type": "MONTHS", "value": 1},
    "notice_period_days": 45,
}
PARTY = {"is_individual": False, "organization_name": "Analytical Engines Ltd",
         "poc_details": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"}}  # fmt: skip


def create_body(external_id: str = "deal-1", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "contract_template_id": 101, "contract_data": copy.deepcopy(MSA_DATA), "counter_party_details": [PARTY],
        "external_metadata": {"id": external_id, "integration_name": "contract-workers", "record_type": "deal"},
    }  # fmt: skip
    body.update(overrides)
    return body


class FrozenClock:
    """Time stands still until a test moves it (rate limit and link expiry without sleeping)."""

    def __init__(self, start: float = 1_795_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Bridge:
    """The webhook endpoint: records every attempt; ``script`` answers the first ones (status or
    exception), then 200."""

    script: list[int | Exception] = field(default_factory=list)
    received: list[httpx.Request] = field(default_factory=list)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.received.append(request)
        outcome = self.script.pop(0) if self.script else 200
        if isinstance(outcome, Exception):
            raise outcome
        return httpx.Response(outcome)

    def activities(self) -> list[str]:
        import json

        return [json.loads(r.content)["activity"] for r in self.received]


@dataclass
class Sandbox:
    app: Starlette
    state: SdSandboxState
    client: httpx.AsyncClient
    bridge: Bridge
    clock: FrozenClock

    async def create(self, **overrides: Any) -> dict[str, Any]:
        response = await self.client.post(f"{API}/contracts/", json=create_body(**overrides), headers=AUTH)
        assert response.status_code == 201, response.text
        return response.json()

    async def send(self, composite_id: str) -> httpx.Response:
        return await self.client.post(f"{API}/contracts/{composite_id}/send_to_counterparties",
                                      json={"attachment_formats": ["PDF"]}, headers=AUTH)  # fmt: skip

    async def settle(self) -> None:
        await self.app.state.sender.settle()
