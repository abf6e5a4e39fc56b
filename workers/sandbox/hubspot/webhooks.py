"""The sandbox's webhook sender: HubSpot webhook batches, signed as HubSpot signs them (v3).

A batch is a JSON array of events (``workers.crm.events``), posted to ``webhook_url`` with
``X-HubSpot-Signature-v3`` and ``X-HubSpot-Request-Timestamp`` (``workers.crm.signing``; the signed URI
is ``webhook_url`` itself). As HubSpot does, every attempt at the same events repeats their ``eventId``
with ``attemptNumber`` one higher, so each attempt's body (hence its signature) differs; ``times`` sends
the batch that many times (identical redeliveries), each with its own retries. Retries follow HubSpot's
"failed notifications are retried" in our own shape: after a 5xx, a 429 or a connection error, up to
``webhook_retries`` times, back-off ``state.webhook_retry_base_s`` doubling (HubSpot spreads up to 10
retries over a day and retries other 4xx too; the sandbox stops at a 4xx, e.g. a refused signature).
``signature`` modes for tests: ``valid``, ``forged`` (a wrong secret), ``stale`` (timestamp one hour old,
correctly signed) and ``missing`` (no signature header).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Literal

import httpx
import structlog

from workers.crm.settings import HubSpotSandboxSettings
from workers.crm.signing import HEADER_SIGNATURE, sign
from workers.sandbox.hubspot.state import CrmSandboxState

log = structlog.get_logger(__name__)

USER_AGENT = "hubspot-sandbox/1.0"
SignatureMode = Literal["valid", "forged", "stale", "missing"]
SIGNATURE_MODES = ("valid", "forged", "stale", "missing")
FORGED_SECRET = "forged-secret-that-is-not-the-client-secret"
STALE_BY_MS = 3_600_000
# One subscription per kind of event the sandbox sends (ids as HubSpot's: numbers).
SUBSCRIPTIONS = {("deal.propertyChange", "dealstage"): 7001, ("deal.propertyChange", "amount"): 7002,
                 ("contact.creation", None): 7003}  # fmt: skip


def _number(object_id: str) -> int | str:
    return int(object_id) if object_id.isdigit() and len(object_id) <= 18 else object_id


def event(
    settings: HubSpotSandboxSettings,
    state: CrmSandboxState,
    subscription_type: str,
    object_id: str,
    property_name: str | None = None,
    property_value: str | None = None,
) -> dict[str, Any]:
    """A new event as HubSpot's webhooks send it (``attemptNumber`` is set per attempt)."""
    body: dict[str, Any] = {
        "eventId": state.next_event_id(),
        "subscriptionId": SUBSCRIPTIONS.get((subscription_type, property_name), 7000),
        "portalId": int(settings.portal_id),
        "appId": int(settings.app_id),
        "occurredAt": state.now_ms(),
        "subscriptionType": subscription_type,
        "attemptNumber": 0,
        "objectId": _number(object_id),
    }
    if property_name is not None:
        body.update(propertyName=property_name, propertyValue=property_value)
    body.update(changeSource="CRM_UI", sourceId="userId:4242")
    return body


def batch_body(events: list[dict[str, Any]], attempt: int) -> bytes:
    return json.dumps([{**e, "attemptNumber": attempt} for e in events], separators=(",", ":")).encode()


def _retryable(status: int | None) -> bool:
    return status is None or status == 429 or status >= 500


class WebhookSender:
    """Sends batches to ``settings.webhook_url``; ``aclose()`` closes its HTTP client."""

    def __init__(
        self,
        settings: HubSpotSandboxSettings,
        state: CrmSandboxState,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.state = state
        self.transport = transport
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=self.transport, headers={"User-Agent": USER_AGENT}, follow_redirects=False, trust_env=False
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    def _headers(self, body: bytes, mode: SignatureMode) -> dict[str, str]:
        now = self.state.now_ms()
        url = self.settings.webhook_url
        secret = self.settings.client_secret.get_secret_value()
        if mode == "forged":
            headers = sign("POST", url, body, FORGED_SECRET, now)
        elif mode == "stale":
            headers = sign("POST", url, body, secret, now - STALE_BY_MS)
        else:
            headers = sign("POST", url, body, secret, now)
        if mode == "missing":
            del headers[HEADER_SIGNATURE]
        return {**headers, "Content-Type": "application/json"}

    async def _attempt(self, body: bytes, mode: SignatureMode) -> int | None:
        self.state.deliveries["attempted"] += 1
        try:
            response = await self._http().post(
                self.settings.webhook_url, content=body, headers=self._headers(body, mode),
                timeout=self.settings.webhook_timeout_s,
            )  # fmt: skip
        except httpx.HTTPError:
            status = None
        else:
            status = response.status_code
        self.state.deliveries["succeeded" if status is not None and 200 <= status < 300 else "failed"] += 1
        return status

    async def send(
        self, events: list[dict[str, Any]], *, times: int = 1, signature: SignatureMode = "valid"
    ) -> dict[str, Any]:
        """Deliver one batch ``times`` times (each with its retries), one attempt after the other; the
        answer of the control endpoints."""
        attempt_number = 0
        deliveries: list[dict[str, Any]] = []
        for delivery in range(1, times + 1):
            for attempt in range(1, self.settings.webhook_retries + 2):
                if attempt > 1:
                    await asyncio.sleep(self.state.webhook_retry_base_s * 2 ** (attempt - 2))
                status = await self._attempt(batch_body(events, attempt_number), signature)
                deliveries.append(
                    {"delivery": delivery, "attempt": attempt, "attemptNumber": attempt_number, "status": status}
                )
                log.info("sandbox.hubspot_webhook", delivery=delivery, attempt=attempt, status=status, mode=signature)
                attempt_number += 1
                if not _retryable(status):
                    break
        delivered = sum(1 for d in deliveries if d["status"] is not None and 200 <= d["status"] < 300)
        event_ids = [e["eventId"] for e in events]
        log.info("sandbox.hubspot_batch_sent", event_ids=event_ids, delivered=delivered)
        return {"eventIds": event_ids, "events": events, "deliveries": deliveries, "delivered": delivered}
