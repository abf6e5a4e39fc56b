"""The HubSpot sandbox: a local simulator of the parts of HubSpot's CRM API the workers use.

Published layout and behaviour (HubSpot docs, CRM v3 objects, error handling) it follows:

* ``GET /crm/v3/objects/{deals|contacts|companies}/{id}?properties=a,b&associations=contacts,companies``
  with ``Authorization: Bearer <token>``: ``{id, properties, createdAt, updatedAt, archived[, associations]}``;
  a known property without a value is ``null``, an unknown one is left out, ``createdate``,
  ``hs_lastmodifieddate`` (contacts: ``lastmodifieddate``) and ``hs_object_id`` are always there; without
  ``properties``, HubSpot's default set. A deal's company is listed twice (labelled and unlabelled).
* ``PATCH /crm/v3/objects/deals/{id}`` with ``{"properties": {...}}``: 200 with the updated object.
  Unknown properties (``PROPERTY_DOESNT_EXIST``), read-only ones (``READ_ONLY_VALUE``) and a stage that is
  not in the pipeline (``INVALID_OPTION``) are refused with 400 ``VALIDATION_ERROR`` naming them in
  ``errors[].context.propertyName``; like HubSpot's, the ``message`` quotes the values.
* Errors: ``{status, message, correlationId, category[, errors]}``: 401 ``INVALID_AUTHENTICATION``, 403
  ``MISSING_SCOPES``, 404 ``OBJECT_NOT_FOUND``, 429 ``RATE_LIMITS`` with ``X-HubSpot-RateLimit-*`` headers.

Our assumptions: the exact texts and the ``INVALID_PROPERTY_VALUE`` code (a JSON object or list as a value);
contacts and companies are read-only here (PATCH: 405); a gateway failure (``fail_next``) is a 502 text page.

``/_sandbox/...`` is the control plane, without auth (loopback only), see ``control.py``; webhooks:
``webhooks.py``. Nothing here logs the token, a signature or a request body.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import structlog
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workers.crm.base import valid_object_id
from workers.crm.settings import HubSpotSandboxSettings, crm_sandbox
from workers.sandbox.hubspot import control
from workers.sandbox.hubspot.state import DEAL_STAGES, KNOWN_PROPERTIES, OBJECT_TYPES, READ_ONLY, CrmSandboxState
from workers.sandbox.hubspot.webhooks import WebhookSender

log = structlog.get_logger(__name__)

OBJECT_ROUTE = "/crm/v3/objects/{object_type}/{object_id}"
_OBJECT_PATH = re.compile(r"/crm/v3/objects/(deals|contacts|companies)/[^/]+")
_CONTROL_DEAL_PATH = re.compile(r"/_sandbox/deals/[^/]+(/close)?")
RATE_LIMIT = {"X-HubSpot-RateLimit-Max": "190", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}


def hs_error(status: int, category: str, message: str, *, headers: dict[str, str] | None = None,
             **extra: Any) -> JSONResponse:  # fmt: skip
    body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()), "category": category, **extra}
    return JSONResponse(body, status_code=status, headers=headers)


def route_label(method: str, path: str) -> str:
    """The counter key of a request: the route template, never an id."""
    match = _OBJECT_PATH.fullmatch(path)
    if match:
        return f"{method} /crm/v3/objects/{match.group(1)}/{{id}}"
    if path.startswith("/crm/"):
        return f"{method} /crm/(other)"
    deal = _CONTROL_DEAL_PATH.fullmatch(path)
    if deal:
        return f"{method} /_sandbox/deals/{{id}}{deal.group(1) or ''}"
    if path in control.PATHS:
        return f"{method} {path}"
    return f"{method} (other)"


class ApiGate:
    """Pure ASGI middleware: counts every request by route and status, and applies the fault knobs to
    ``/crm/`` calls. ``/_sandbox`` is never faulted."""

    def __init__(self, app: ASGIApp, state: CrmSandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        label = route_label(scope["method"], path)
        seen: list[int] = []

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen.append(message["status"])
            await send(message)

        try:
            answer = await self._fault() if path.startswith("/crm/") else None
            if answer is not None:
                await answer(scope, receive, counting_send)
            else:
                await self.app(scope, receive, counting_send)
        finally:
            self.state.count_request(label, seen[0] if seen else 500)

    async def _fault(self) -> Response | None:
        state, faults = self.state, self.state.faults
        if faults.latency_s > 0:
            await asyncio.sleep(faults.latency_s)
        if faults.down:
            state.faults_injected += 1
            return PlainTextResponse("Service Unavailable", status_code=503)
        if faults.unauthorized:
            state.faults_injected += 1
            return hs_error(401, "INVALID_AUTHENTICATION", "Authentication credentials not found.")
        if faults.missing_scopes:
            state.faults_injected += 1
            return hs_error(403, "MISSING_SCOPES", "This app hasn't been granted all required scopes to make this "
                            "call.", errors=[{"message": "One or more of the following scopes are required.",
                            "context": {"requiredGranularScopes": ["crm.objects.deals.read"]}}])  # fmt: skip
        if state.take("fail_next"):
            log.info("sandbox.fault_injected", fault="fail_next", status=502)
            return PlainTextResponse("<html><body>502 Bad Gateway</body></html>", status_code=502)
        if state.take("rate_limit_next"):
            log.info("sandbox.fault_injected", fault="rate_limit_next", status=429)
            headers = {**RATE_LIMIT, "X-HubSpot-RateLimit-Remaining": "0"}
            return hs_error(429, "RATE_LIMITS", "You have reached your ten_secondly_rolling limit.", headers=headers,
                            errorType="RATE_LIMIT", policyName="TEN_SECONDLY_ROLLING")  # fmt: skip
        return None


def _authorized(request: Request, token: str) -> bool:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())


def _names(param: str | None) -> list[str] | None:
    return None if param is None else [n.strip() for n in param.split(",") if n.strip()]


def _problems(properties: dict[str, Any]) -> list[dict[str, Any]]:
    """HubSpot's validation errors for a deal update (name, code, message quoting the value as HubSpot's)."""
    problems = []
    for name, value in properties.items():
        if name in READ_ONLY["deals"]:
            code, text = "READ_ONLY_VALUE", f'"{name}" is a read only property; its value cannot be set.'
        elif name not in KNOWN_PROPERTIES["deals"]:
            code, text = "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist'
        elif isinstance(value, bool) or (value is not None and not isinstance(value, (str, int, float))):
            code, text = "INVALID_PROPERTY_VALUE", f"Property {json.dumps(name)} has an invalid value {value!r}"
        elif name == "dealstage" and value not in DEAL_STAGES:
            allowed = ", ".join(DEAL_STAGES)
            code, text = "INVALID_OPTION", f"{json.dumps(value)} was not one of the allowed options: [{allowed}]"
        else:
            continue
        problems.append({"name": name, "code": code, "message": text})
    return problems


async def crm_object(request: Request) -> Response:
    settings, state = request.app.state.settings, request.app.state.crm
    if not _authorized(request, settings.access_token.get_secret_value()):
        return hs_error(401, "INVALID_AUTHENTICATION", "Authentication credentials not found.")
    object_type, object_id = request.path_params["object_type"], request.path_params["object_id"]
    if object_type not in OBJECT_TYPES:
        return hs_error(400, "VALIDATION_ERROR", "Unable to infer object type from the path")
    if not valid_object_id(object_id) or object_id not in state.objects[object_type]:
        return hs_error(404, "OBJECT_NOT_FOUND", "resource not found")
    if request.method == "GET":
        associations = _names(request.query_params.get("associations")) or []
        answer = state.answer(object_type, object_id, _names(request.query_params.get("properties")), associations)
        return JSONResponse(answer, headers={**RATE_LIMIT, "X-HubSpot-RateLimit-Remaining": "189"})
    if object_type != "deals":
        return hs_error(405, "VALIDATION_ERROR", "The sandbox updates deals only")
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        return hs_error(400, "VALIDATION_ERROR", "Invalid input JSON on line 1")
    properties = body.get("properties") if isinstance(body, dict) else None
    if not isinstance(properties, dict):
        return hs_error(400, "VALIDATION_ERROR", "Invalid input: expected an object with properties")
    problems = _problems(properties)
    if problems:
        log.info("sandbox.patch_refused", deal_id=object_id, properties=sorted(p["name"] for p in problems))
        detail = [{"isValid": False, "message": p["message"], "error": p["code"], "name": p["name"]} for p in problems]
        errors = [{"message": p["message"], "code": p["code"], "context": {"propertyName": [p["name"]]}}
                  for p in problems]  # fmt: skip
        return hs_error(400, "VALIDATION_ERROR", f"Property values were not valid: {json.dumps(detail)}",
                        errors=errors)  # fmt: skip
    values = {k: (v if v is None or isinstance(v, str) else str(v)) for k, v in properties.items()}
    state.change_deal(object_id, values, source="PATCH")
    log.info("sandbox.deal_patched", deal_id=object_id, properties=sorted(values))
    answer = state.answer("deals", object_id, list(values), [])
    return JSONResponse(answer, headers={**RATE_LIMIT, "X-HubSpot-RateLimit-Remaining": "188"})


def create_app(
    settings: HubSpotSandboxSettings | None = None,
    state: CrmSandboxState | None = None,
    *,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    """The sandbox ASGI app. ``app.state.crm`` is the ``CrmSandboxState``, ``app.state.sender`` the
    ``WebhookSender``; ``webhook_transport`` replaces the network for webhook deliveries. Without a
    lifespan (``httpx.ASGITransport``), close the sender with ``await app.state.sender.aclose()``."""
    settings = settings or crm_sandbox()
    state = state or CrmSandboxState()
    sender = WebhookSender(settings, state, webhook_transport)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        log.info("sandbox.hubspot_started", portal_id=settings.portal_id)
        try:
            yield
        finally:
            await sender.aclose()
            log.info("sandbox.hubspot_stopped")

    routes = [Route(OBJECT_ROUTE, crm_object, methods=["GET", "PATCH"]), *control.routes()]
    app = Starlette(routes=routes, middleware=[Middleware(ApiGate, state=state)], lifespan=lifespan)
    app.state.settings = settings
    app.state.crm = state
    app.state.sender = sender
    return app
