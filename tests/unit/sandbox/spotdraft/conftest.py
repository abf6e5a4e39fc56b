"""The SpotDraft sandbox in process (``httpx.ASGITransport``), a frozen clock and a bridge stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from workers.sandbox.spotdraft import SdSandboxState, create_app

from .support import BASE, SETTINGS, Bridge, FrozenClock, Sandbox


@pytest.fixture
async def sd() -> AsyncIterator[Sandbox]:
    clock = FrozenClock()
    state = SdSandboxState(clock=clock)
    state.webhook_retry_base_s = 0.0
    bridge = Bridge()
    app = create_app(SETTINGS.model_copy(update={"rate_limit_per_s": 1000}), state,
                     webhook_transport=httpx.MockTransport(bridge.handle))  # fmt: skip
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
            yield Sandbox(app, state, client, bridge, clock)
