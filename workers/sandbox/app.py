"""The sandbox provider: a local, faithful simulator of the Contractize-style API (seed 000).

Routes (JSON unless said):

* ``POST /oauth/token`` — OAuth 2.0 client credentials (form body or HTTP Basic client auth), scopes
  ``generate:<template_id>``, ``generate:*``, ``documents:read``.
* ``GET /v1/templates`` and ``GET /v1/templates/{template_id}`` — any valid bearer token.
* ``POST /v1/generate`` — scope ``generate:<id>`` or ``generate:*``; optional ``Idempotency-Key``.
  202 ``{"doc_id", "status": "processing", "download_url": null, ...}``; the PDF is rendered and, after
  ``webhook_delay_s``, the document is ``ready`` and a signed ``document.ready`` webhook is POSTed to
  ``callback_url`` (Standard Webhooks headers from ``workers.signing.sign``; retried with back-off).
* ``GET /v1/documents?idempotency_key=K``, ``GET /v1/documents/{doc_id}`` — scope ``documents:read``;
  ``download_url`` (absolute, HMAC-signed, short-lived) only when ready.
* ``GET /v1/documents/{doc_id}/download?expires=&signature=`` — the PDF; the signed URL is the capability.
* ``/_sandbox/...`` — control plane without auth (the sandbox listens on loopback only): ``GET state``,
  ``POST reset``, ``GET|POST faults``, ``POST documents/{doc_id}/redeliver``, ``GET health``.

Nothing here logs a secret, a token, a signature or a request body.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from workers.config import SandboxSettings
from workers.config import sandbox as sandbox_settings
from workers.sandbox.state import SandboxState

from workers.sandbox.api import download, generate, get_document, get_template, list_documents, list_templates
from workers.sandbox.control import control_faults, control_health, control_redeliver, control_reset, control_state
from workers.sandbox.dispatch import WebhookDispatcher
from workers.sandbox.faults import FaultInjection
from workers.sandbox.oauth import token

log = structlog.get_logger(__name__)

__all__ = ["WebhookDispatcher", "create_app"]


def create_app(
    settings: SandboxSettings | None = None,
    state: SandboxState | None = None,
    *,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    """The sandbox ASGI app. ``app.state.sandbox`` is the ``SandboxState``, ``app.state.dispatcher``
    the ``WebhookDispatcher``; ``webhook_transport`` replaces the network for webhook deliveries."""
    settings = settings or sandbox_settings()
    state = state or SandboxState()
    dispatcher = WebhookDispatcher(settings, state, webhook_transport)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        log.info("sandbox.started")
        try:
            yield
        finally:
            await dispatcher.aclose()
            log.info("sandbox.stopped")

    routes = [
        Route("/oauth/token", token, methods=["POST"]),
        Route("/v1/templates", list_templates, methods=["GET"]),
        Route("/v1/templates/{template_id}", get_template, methods=["GET"]),
        Route("/v1/generate", generate, methods=["POST"]),
        Route("/v1/documents", list_documents, methods=["GET"]),
        Route("/v1/documents/{doc_id}", get_document, methods=["GET"]),
        Route("/v1/documents/{doc_id}/download", download, methods=["GET"], name="download"),
        Route("/_sandbox/health", control_health, methods=["GET"]),
        Route("/_sandbox/state", control_state, methods=["GET"]),
        Route("/_sandbox/reset", control_reset, methods=["POST"]),
        Route("/_sandbox/faults", control_faults, methods=["GET", "POST"]),
        Route("/_sandbox/documents/{doc_id}/redeliver", control_redeliver, methods=["POST"]),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(FaultInjection, state=state)], lifespan=lifespan)
    app.state.settings = settings
    app.state.sandbox = state
    app.state.dispatcher = dispatcher
    return app
