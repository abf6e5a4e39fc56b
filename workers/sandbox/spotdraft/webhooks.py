"""The SpotDraft sandbox's webhook sender: contract activity events (``ContractActivityDomainModel``), signed
as SpotDraft signs them (``X-SD-WEBHOOK-CONTENT-HASH``, hex HMAC-SHA512 of the body with the base64-decoded
workspace key), delivered in order by one background worker.

Each event's body is built once and repeated byte for byte by every delivery, retry and redelivery, so its
derived message id is stable. Retries (our shape; SpotDraft publishes none): after a 5xx, a 429 or a
connection error, up to ``webhook_retries`` times, back-off ``state.webhook_retry_base_s`` doubling; never
after another 4xx. ``signature`` modes for redeliveries: ``valid``, ``forged`` (a wrong key) and
``missing`` (no signature header). Bodies carry fictional people, as SpotDraft's carry real ones: the
bridge must not pass them on.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import httpx
import structlog

from workers.providers.spotdraft.settings import SpotDraftSandboxSettings
from workers.providers.spotdraft.webhooks import HEADER_SIGNATURE, message_id, parse_event, sign
from workers.sandbox.spotdraft.state import CREATOR_EMAIL, SdContract, SdSandboxState
from workers.sandbox.spotdraft.templates import TemplateDef

log = structlog.get_logger(__name__)

USER_AGENT = "spotdraft-sandbox/2.1"
SignatureMode = Literal["valid", "forged", "missing"]
SIGNATURE_MODES = ("valid", "forged", "missing")
FORGED_KEY = base64.b64encode(b"forged-key-that-is-not-the-workspace-hmac-key!").decode()
BUSINESS_USER = {"name": "Sandbox Integration", "email": CREATOR_EMAIL}
_BY_COUNTERPARTY = {"CONTRACT_SIGNED", "CONTRACT_SIGNATURE_DECLINED"}


def _counterparties(contract: SdContract) -> list[dict[str, Any]]:
    listed = []
    for party in contract.counterparties:
        poc = party.get("poc_details") or {}
        entry = {
            "type": "Individual" if party.get("is_individual") else "Organization",
            "poc_name": " ".join(p for p in (poc.get("first_name"), poc.get("last_name")) if p),
            "poc_email": poc.get("email", ""),
        }
        if party.get("organization_name"):
            entry["organization_name"] = party["organization_name"]
        listed.append(entry)
    return listed


def event_body(contract: SdContract, template: TemplateDef, activity: str, status: str, timestamp: str) -> bytes:
    if activity in _BY_COUNTERPARTY and contract.counterparties:
        poc = contract.counterparties[0].get("poc_details") or {}
        performed_by = {"name": " ".join(p for p in (poc.get("first_name"), poc.get("last_name")) if p),
                        "email": poc.get("email", "")}  # fmt: skip
    elif activity == "CONTRACT_EXECUTED":
        performed_by = {"name": "SYSTEM"}
    else:
        performed_by = dict(BUSINESS_USER)
    event = {
        "activity": activity, "contract_id": contract.contract_id, "contract_title": contract.name,
        "contract_type": template.title, "contract_type_name": template.title,
        "contract_type_id": template.contract_type_id, "contract_status": status,
        "contract_kind": "TEMPLATE_CONTRACT", "business_user": dict(BUSINESS_USER), "created_at": contract.created,
        "counterparties": _counterparties(contract), "external_metadata": contract.external_metadata,
        "contract_reference_id": f"SD-{contract.contract_id}", "contract_template_id": template.template_id,
        "activity_data": {"performed_by": performed_by, "timestamp": timestamp},
    }  # fmt: skip
    return json.dumps(event, separators=(",", ":")).encode()


def _retryable(status: int | None) -> bool:
    return status is None or status == 429 or status >= 500


class WebhookSender:
    """Sends events to ``settings.webhook_url``; ``aclose()`` stops the worker and closes the client."""

    def __init__(
        self, settings: SpotDraftSandboxSettings, state: SdSandboxState,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:  # fmt: skip
        self.settings = settings
        self.state = state
        self.transport = transport
        self._client: httpx.AsyncClient | None = None
        self._queue: asyncio.Queue[tuple[dict[str, Any], int]] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(transport=self.transport, headers={"User-Agent": USER_AGENT},
                                             follow_redirects=False, trust_env=False)  # fmt: skip
        return self._client

    async def aclose(self) -> None:
        for task in [*self._tasks, *([self._worker] if self._worker else [])]:
            task.cancel()
        await asyncio.gather(*self._tasks, *([self._worker] if self._worker else []), return_exceptions=True)
        self._tasks.clear()
        self._worker = None
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    # --- events -----------------------------------------------------------------------------------

    def emit(self, contract: SdContract, activities: list[str]) -> list[dict[str, Any]]:
        """Log the events of one transition and queue their delivery (unless webhooks are disabled)."""
        template = self.state.templates[contract.template_id]
        records = []
        for activity in activities:
            status = self.state.status_after(activity, contract.status)
            body = event_body(contract, template, activity, status, self.state.iso_now())
            record = {"activity": activity, "contractId": contract.contract_id, "compositeId": contract.composite_id,
                      "status": status, "messageId": message_id(parse_event(body)), "body": body.decode(),
                      "deliveries": []}  # fmt: skip
            self.state.events.append(record)
            records.append(record)
        faults = self.state.faults
        if faults.webhook_enabled:
            ordered = list(reversed(records)) if faults.webhook_out_of_order else records
            for record in ordered:
                for delivery in range(1, faults.webhook_duplicates + 2):
                    self._queue.put_nowait((record, delivery))
            if self._worker is None or self._worker.done():
                self._worker = asyncio.get_running_loop().create_task(self._work(), name="spotdraft-webhooks")
        return records

    async def _work(self) -> None:
        while True:
            record, delivery = await self._queue.get()
            try:
                record["deliveries"].extend(await self.deliver(record["body"].encode(), "valid", delivery))
            except Exception as exc:  # a delivery must never stop the worker
                log.warning("sandbox.spotdraft_webhook_failed", error=type(exc).__name__)
            finally:
                self._queue.task_done()

    async def drain(self) -> None:
        """Wait until every queued delivery (with its retries) is done."""
        await self._queue.join()

    async def settle(self) -> None:
        """Wait for the scheduled actions (auto-sign) and then for every queued delivery."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self.drain()

    def later(self, delay_s: float, action: Callable[[], Awaitable[Any]]) -> None:
        """Run ``action`` after ``delay_s`` (auto-sign); cancelled by ``aclose``."""

        async def run() -> None:
            await asyncio.sleep(delay_s)
            await action()

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- deliveries -------------------------------------------------------------------------------

    def _headers(self, body: bytes, mode: SignatureMode) -> dict[str, str]:
        key = FORGED_KEY if mode == "forged" else self.settings.hmac_key.get_secret_value()
        headers = {} if mode == "missing" else sign(body, key)
        return {**headers, "Content-Type": "application/json"}

    async def _attempt(self, body: bytes, mode: SignatureMode) -> int | None:
        self.state.deliveries["attempted"] += 1
        try:
            response = await self._http().post(self.settings.webhook_url, content=body,
                                               headers=self._headers(body, mode),
                                               timeout=self.settings.webhook_timeout_s)  # fmt: skip
        except httpx.HTTPError:
            status = None
        else:
            status = response.status_code
        self.state.deliveries["succeeded" if status is not None and 200 <= status < 300 else "failed"] += 1
        return status

    async def deliver(self, body: bytes, mode: SignatureMode = "valid", delivery: int = 1) -> list[dict[str, Any]]:
        """One delivery with its retries; one entry per attempt."""
        attempts: list[dict[str, Any]] = []
        for attempt in range(1, self.settings.webhook_retries + 2):
            if attempt > 1:
                await asyncio.sleep(self.state.webhook_retry_base_s * 2 ** (attempt - 2))
            status = await self._attempt(body, mode)
            attempts.append({"delivery": delivery, "attempt": attempt, "status": status, "signature": mode})
            log.info("sandbox.spotdraft_webhook", delivery=delivery, attempt=attempt, status=status, mode=mode)
            if not _retryable(status):
                break
        return attempts


__all__ = ["HEADER_SIGNATURE", "SIGNATURE_MODES", "WebhookSender", "event_body"]
