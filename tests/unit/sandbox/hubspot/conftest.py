"""The HubSpot sandbox on an in-process transport, with a recorder standing in for the callback bridge."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from workers.sandbox.hubspot import CrmSandboxState, create_app

from .support import SETTINGS, Bridge, Sandbox


@pytest.fixture
async def hubspot_sandbox() -> AsyncIterator[Sandbox]:
    state = CrmSandboxState()
    state.webhook_retry_base_s = 0.0
    bridge = Bridge()
    app = create_app(SETTINGS, state, webhook_transport=httpx.MockTransport(bridge.handle))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hubspot-sandbox.test") as client:
            yield Sandbox(client, state, bridge)
