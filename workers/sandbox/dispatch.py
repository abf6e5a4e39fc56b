"""The sandbox's webhook dispatch: signed ``document.*`` deliveries to the caller's callback URL, with
retries, duplicates, early and out-of-order deliveries as the fault knobs ask.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from typing import Any

import structlog
import httpx

from workers.config import SandboxSettings
from workers.sandbox.pdf import render_pdf
from workers.sandbox.state import DocumentRecord, SandboxState
from workers.signing import sign
from workers.sandbox.common import EVENT_FAILED, EVENT_READY, USER_AGENT

log = structlog.get_logger(__name__)


# --- webhooks -------------------------------------------------------------------------------------


class WebhookDispatcher:
    """Finishes documents in the background and delivers their webhooks; every task is tracked.

    ``aclose()`` (run by the app's lifespan on shutdown) cancels what is still running and closes the
    HTTP client. Tests driving the app through ``httpx.ASGITransport`` (no lifespan) can use
    ``async with app.router.lifespan_context(app)`` or call ``await dispatcher.aclose()`` themselves;
    ``await dispatcher.idle()`` waits until no task is left.
    """

    def __init__(
        self,
        settings: SandboxSettings,
        state: SandboxState,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.state = state
        self.transport = transport
        self.tasks: set[asyncio.Task[Any]] = set()
        self._client: httpx.AsyncClient | None = None

    # lifecycle

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=self.transport,
                headers={"User-Agent": USER_AGENT},
                follow_redirects=False,
                trust_env=False,
            )
        return self._client

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str | None = None) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            log.error("sandbox.background_task_failed", task=task.get_name(), error=type(exc).__name__)

    async def idle(self, timeout: float | None = None) -> None:
        """Wait until every background task (including ones they spawn) has finished."""

        async def _wait() -> None:
            while self.tasks:
                await asyncio.gather(*list(self.tasks), return_exceptions=True)

        await asyncio.wait_for(_wait(), timeout)

    async def aclose(self) -> None:
        while self.tasks:
            pending = list(self.tasks)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    # document pipeline

    def delay_s(self) -> float:
        knob = self.state.faults.webhook_delay_s
        return self.settings.webhook_delay_s if knob is None else knob

    async def finish(self, doc: DocumentRecord) -> None:
        """Render the PDF and mark the document ready (or failed)."""
        if doc.status != "processing":
            return
        template = self.state.templates.get(doc.template_id)
        if template is None or self.state.take_render_failure():
            doc.status, doc.error = "failed", "render_failed"
        else:
            doc.pdf = await asyncio.to_thread(
                render_pdf, template, doc.data, doc_id=doc.doc_id, metadata=doc.metadata, created_at=doc.created_at
            )
            doc.status = "ready"
        doc.ready_at = self.state.now_dt()
        log.info("sandbox.document_finished", doc_id=doc.doc_id, status=doc.status)

    async def process(self, doc: DocumentRecord) -> None:
        """The normal path: wait ``webhook_delay_s``, finish, notify (with duplicates)."""
        await asyncio.sleep(self.delay_s())
        await self.finish(doc)
        self.notify(doc)

    def notify(self, doc: DocumentRecord, first_attempt_done: bool = False) -> None:
        if not self.state.faults.webhook_enabled:
            log.info("sandbox.webhook_suppressed", doc_id=doc.doc_id)
            return
        event_type = self.event_type(doc)
        if not first_attempt_done:
            self.spawn(self.deliver(doc, event_type), name=f"webhook:{doc.doc_id}")
        for n in range(self.state.faults.webhook_duplicates):
            self.spawn(self.deliver(doc, event_type), name=f"webhook-dup{n + 1}:{doc.doc_id}")

    @staticmethod
    def event_type(doc: DocumentRecord) -> str:
        return EVENT_FAILED if doc.status == "failed" else EVENT_READY

    def event_body(self, doc: DocumentRecord, event_type: str) -> bytes:
        """The exact bytes of one event: built once, identical for every (re)delivery."""
        body = doc.event_bodies.get(event_type)
        if body is None:
            event: dict[str, Any] = {
                "event_id": self.state.event_id(doc, event_type),
                "event_type": event_type,
                "doc_id": doc.doc_id,
                "status": doc.status,
                "template_id": doc.template_id,
                "template_version": doc.template_version,
                "metadata": doc.metadata,
                "occurred_at": (doc.ready_at or self.state.now_dt()).isoformat(),
            }
            if doc.error:
                event["error"] = doc.error
            body = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
            doc.event_bodies[event_type] = body
        return body

    async def attempt(self, doc: DocumentRecord, event_type: str, attempt: int = 1) -> bool:
        """One POST to the callback URL; True on a 2xx answer."""
        body = self.event_body(doc, event_type)
        event_id = self.state.event_id(doc, event_type)
        headers = sign(self.settings.webhook_secret.get_secret_value(), event_id, body, timestamp=self.state.now())
        headers["Content-Type"] = "application/json"
        doc.webhook_attempts += 1
        self.state.count("webhook_deliveries_attempted")
        try:
            response = await self._http().post(
                doc.callback_url, content=body, headers=headers, timeout=self.state.faults.webhook_timeout_s
            )
        except httpx.HTTPError as exc:
            log.warning(
                "sandbox.webhook_failed", doc_id=doc.doc_id, event_id=event_id, attempt=attempt,
                error=type(exc).__name__,
            )
            return False
        if 200 <= response.status_code < 300:
            doc.webhook_successes += 1
            self.state.count("webhook_deliveries_succeeded")
            log.info(
                "sandbox.webhook_delivered", doc_id=doc.doc_id, event_id=event_id, attempt=attempt,
                status=response.status_code,
            )
            return True
        log.warning(
            "sandbox.webhook_failed", doc_id=doc.doc_id, event_id=event_id, attempt=attempt,
            status=response.status_code,
        )
        return False

    async def deliver(self, doc: DocumentRecord, event_type: str, first_attempt: int = 1) -> bool:
        """Deliver with retries: up to ``webhook_max_attempts`` tries, back-off doubling from
        ``webhook_retry_base_s``. Returns whether one attempt succeeded."""
        faults = self.state.faults
        for attempt in range(first_attempt, max(faults.webhook_max_attempts, first_attempt) + 1):
            if attempt > 1:
                await asyncio.sleep(faults.webhook_retry_base_s * 2 ** (attempt - 2))
            if await self.attempt(doc, event_type, attempt):
                return True
        log.warning("sandbox.webhook_gave_up", doc_id=doc.doc_id, attempts=doc.webhook_attempts)
        return False
