"""Shared pieces of the HubSpot sandbox tests (the fixture is in ``conftest.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from workers.crm.settings import DEV_HUBSPOT_CLIENT_SECRET, DEV_HUBSPOT_TOKEN, HubSpotSandboxSettings
from workers.crm.signing import HubSpotVerifier
from workers.sandbox.hubspot import CrmSandboxState

SETTINGS = HubSpotSandboxSettings(webhook_url="http://bridge.test/webhooks/hubspot", portal_id="62515", app_id="54321")
AUTH = {"Authorization": f"Bearer {DEV_HUBSPOT_TOKEN}"}
VERIFIER = HubSpotVerifier.from_secrets(DEV_HUBSPOT_CLIENT_SECRET, uri=SETTINGS.webhook_url)


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


@dataclass
class Sandbox:
    client: httpx.AsyncClient
    state: CrmSandboxState
    bridge: Bridge

    async def get(self, path: str, params: dict | None = None, headers: dict | None = None) -> httpx.Response:
        return await self.client.get(path, params=params, headers=AUTH if headers is None else headers)

    async def patch(self, deal_id: str, body: object, headers: dict | None = None) -> httpx.Response:
        return await self.client.patch(
            f"/crm/v3/objects/deals/{deal_id}", json=body, headers=AUTH if headers is None else headers
        )
