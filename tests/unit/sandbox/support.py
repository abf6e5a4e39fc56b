"""Helpers for the sandbox tests: settings, a movable clock, a webhook recorder, a thin API client."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette

from workers.config import SandboxSettings
from workers.sandbox.state import SandboxState

SETTINGS = SandboxSettings(
    host="127.0.0.1",
    port=8091,
    webhook_delay_s=0.01,
    token_ttl_s=60,
    download_url_ttl_s=30,
)
CLIENT_ID = SETTINGS.client_id
CLIENT_SECRET = SETTINGS.client_secret.get_secret_value()
WEBHOOK_SECRET = SETTINGS.webhook_secret.get_secret_value()
CALLBACK = "http://bridge.test/webhooks/contractize"


class Clock:
    """Real time plus an offset tests can push forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        import json

        return json.loads(self.body)


@dataclass
class Recorder:
    """The callback endpoint: records every delivery; ``script`` answers the first calls (status codes or
    exceptions), then 200."""

    deliveries: list[Delivery] = field(default_factory=list)
    attempts: int = 0
    script: list[int | Exception] = field(default_factory=list)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        if self.script:
            outcome = self.script.pop(0)
            if isinstance(outcome, Exception):
                raise outcome
            if not 200 <= outcome < 300:
                self._changed.set()
                return httpx.Response(outcome)
        self.deliveries.append(Delivery(dict(request.headers), request.content))
        self._changed.set()
        return httpx.Response(204)

    async def wait_for(self, n: int, timeout: float = 3.0) -> list[Delivery]:
        async def _wait() -> None:
            while len(self.deliveries) < n:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(_wait(), timeout)
        return self.deliveries


@dataclass
class Sandbox:
    app: Starlette
    state: SandboxState
    client: httpx.AsyncClient
    webhooks: Recorder
    clock: Clock

    async def token(self, scope: str | None = None) -> str:
        form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
        if scope is not None:
            form["scope"] = scope
        response = await self.client.post("/oauth/token", data=form)
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    async def generate(
        self,
        token: str,
        data: dict[str, Any] | None = None,
        *,
        template_id: str = "nda-001",
        key: str | None = None,
        metadata: dict[str, Any] | None = None,
        **extra: Any,
    ) -> httpx.Response:
        body = {
            "template_id": template_id,
            "data": nda_data() if data is None else data,
            "callback_url": CALLBACK,
            "metadata": {"request_id": "req-42", "initiated_by": "HR_SYSTEM", "template_version": "3"}
            if metadata is None
            else metadata,
            **extra,
        }
        headers = {"Authorization": f"Bearer {token}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return await self.client.post("/v1/generate", json=body, headers=headers)

    async def document(self, token: str, doc_id: str) -> httpx.Response:
        return await self.client.get(f"/v1/documents/{doc_id}", headers={"Authorization": f"Bearer {token}"})

    async def wait_ready(self, doc_id: str, timeout: float = 3.0) -> None:
        async def _wait() -> None:
            while self.state.documents[doc_id].status == "processing":
                await asyncio.sleep(0.005)

        await asyncio.wait_for(_wait(), timeout)

    async def faults(self, **knobs: Any) -> httpx.Response:
        response = await self.client.post("/_sandbox/faults", json=knobs)
        assert response.status_code == 200, response.text
        return response


def nda_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "employee_name": "Ada Lovelace",
        "employee_email": "ada@example.com",
        "start_date": "2025-03-01",
        "confidentiality_level": "high",
    }
    data.update(overrides)
    return data


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


