"""The sandbox's webhook sender: BambooHR event-based webhooks (JSON), signed as BambooHR signs them.

The body follows the published format (``workers.hr.signing``); it is built once per send and repeated
byte for byte by every delivery and retry, so its derived event id is stable. The signature headers are
made per attempt (``X-BambooHR-Timestamp`` = when that request was sent, Unix seconds: our assumption).
Retries follow BambooHR's "failed deliveries are retried" in our own shape: after a 5xx, a 429 or a
connection error, up to ``webhook_retries`` times, back-off ``state.webhook_retry_base_s`` doubling;
never after a 4xx. ``signature`` modes for tests: ``valid``, ``forged`` (a wrong key), ``stale`` (header
timestamp one hour old, correctly signed) and ``missing`` (no signature header).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Literal

import httpx
import structlog

from workers.hr.settings import HrSandboxSettings
from workers.hr.signing import HEADER_SIGNATURE, event_id, sign
from workers.sandbox.bamboohr.state import HrSandboxState

log = structlog.get_logger(__name__)

USER_AGENT = "bamboohr-sandbox/1.0"
SignatureMode = Literal["valid", "forged", "stale", "missing"]
SIGNATURE_MODES = ("valid", "forged", "stale", "missing")
FORGED_KEY = "forged-key-that-is-not-the-webhook-private-key"
STALE_BY_S = 3600


def body_timestamp(when: float) -> str:
    """The body's timestamp as BambooHR's docs show it: ``2026-01-31T18:42:00+0000``."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(when))


def event_body(event_type: str, company_id: str, employee_id: str, timestamp: str, changed: list[str] | None) -> bytes:
    data: dict[str, Any] = {"companyId": company_id, "employeeId": employee_id}
    if event_type == "employee.updated":
        data["changedFields"] = list(changed or [])
    event = {"type": event_type, "timestamp": timestamp, "data": data}
    return json.dumps(event, separators=(",", ":")).encode()


def _retryable(status: int | None) -> bool:
    return status is None or status == 429 or status >= 500


class WebhookSender:
    """Sends events to ``settings.webhook_url``; ``aclose()`` closes its HTTP client."""

    def __init__(
        self,
        settings: HrSandboxSettings,
        state: HrSandboxState,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.state = state
        self.transport = transport
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=self.transport,
                headers={"User-Agent": USER_AGENT},
                follow_redirects=False,
                trust_env=False,
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    def _headers(self, body: bytes, mode: SignatureMode) -> dict[str, str]:
        now = self.state.now()
        key = self.settings.webhook_private_key.get_secret_value()
        if mode == "forged":
            headers = sign(body, FORGED_KEY, str(int(now)))
        elif mode == "stale":
            headers = sign(body, key, str(int(now) - STALE_BY_S))
        else:
            headers = sign(body, key, str(int(now)))
        if mode == "missing":
            del headers[HEADER_SIGNATURE]
        return {**headers, "Content-Type": "application/json"}

    async def _attempt(self, body: bytes, mode: SignatureMode) -> int | None:
        self.state.deliveries["attempted"] += 1
        try:
            response = await self._http().post(
                self.settings.webhook_url,
                content=body,
                headers=self._headers(body, mode),
                timeout=self.settings.webhook_timeout_s,
            )
        except httpx.HTTPError:
            status = None
        else:
            status = response.status_code
        self.state.deliveries["succeeded" if status is not None and 200 <= status < 300 else "failed"] += 1
        return status

    async def deliver(self, body: bytes, mode: SignatureMode, delivery: int = 1) -> list[dict[str, Any]]:
        """One delivery with its retries; one entry per attempt."""
        attempts: list[dict[str, Any]] = []
        for attempt in range(1, self.settings.webhook_retries + 2):
            if attempt > 1:
                await asyncio.sleep(self.state.webhook_retry_base_s * 2 ** (attempt - 2))
            status = await self._attempt(body, mode)
            attempts.append({"delivery": delivery, "attempt": attempt, "status": status})
            log.info("sandbox.bamboohr_webhook", delivery=delivery, attempt=attempt, status=status, mode=mode)
            if not _retryable(status):
                break
        return attempts

    async def send(
        self,
        employee_id: str,
        event_type: str = "employee.created",
        *,
        changed_fields: list[str] | None = None,
        times: int = 1,
        signature: SignatureMode = "valid",
        timestamp: str | None = None,
    ) -> dict[str, Any]:
        """Send ``times`` identical deliveries of one event, one after the other (after
        ``webhook_delay_s``); the answer of the control endpoints."""
        stamp = timestamp or body_timestamp(self.state.now())
        body = event_body(event_type, self.settings.company_id, employee_id, stamp, changed_fields)
        eid = event_id(json.loads(body))
        if self.settings.webhook_delay_s > 0:
            await asyncio.sleep(self.settings.webhook_delay_s)
        deliveries: list[dict[str, Any]] = []
        for n in range(1, times + 1):
            deliveries.extend(await self.deliver(body, signature, n))
        delivered = sum(1 for d in deliveries if d["status"] is not None and 200 <= d["status"] < 300)
        log.info(
            "sandbox.bamboohr_event_sent", event_id=eid, type=event_type, employee_id=employee_id, delivered=delivered
        )
        return {
            "employeeId": employee_id,
            "type": event_type,
            "eventId": eid,
            "timestamp": stamp,
            "deliveries": deliveries,
            "delivered": delivered,
        }
