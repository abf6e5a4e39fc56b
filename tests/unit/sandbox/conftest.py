"""Fixtures for the sandbox tests: the app on an in-process transport, a movable clock and a webhook
recorder standing in for the callback bridge (helpers live in ``support.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from workers.sandbox.app import create_app
from workers.sandbox.state import SandboxState

from .support import SETTINGS, Clock, Recorder, Sandbox


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def webhooks() -> Recorder:
    return Recorder()


@pytest.fixture
async def sandbox(clock: Clock, webhooks: Recorder) -> AsyncIterator[Sandbox]:
    state = SandboxState(clock=clock)
    state.faults.webhook_retry_base_s = 0.005
    app = create_app(SETTINGS, state, webhook_transport=httpx.MockTransport(webhooks.handle))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as client:
            yield Sandbox(app, state, client, webhooks, clock)
