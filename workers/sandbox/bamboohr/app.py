"""The BambooHR sandbox: a local simulator of the parts of BambooHR's API the workers use.

Published layout and behaviour (BambooHR docs) it follows:

* ``GET /api/gateway.php/{company}/v1/employees/{id}/?fields=a,b`` (with or without the trailing slash):
  HTTP Basic auth with the API key as user name and any password; ``Accept: application/json`` gives a
  JSON object of strings, ``id`` plus the fields asked for (unknown or unset -> null, unset date ->
  ``0000-00-00``); without it, XML (BambooHR's default). Wrong company or unknown employee 404, bad key 401.
* ``POST`` on the same path: a JSON object of field -> text sets the fields; 200 with an empty body.

Our assumptions: a field that is neither known to the sandbox (``state.KNOWN_FIELDS``) nor custom
(``custom...``) is refused with 400 and a JSON body ``{"error", "fields": [names]}`` (BambooHR's exact
400 body is not published); errors also carry an ``X-BambooHR-Error-Message`` header, as BambooHR's do.

``/_sandbox/...`` is the control plane, without auth (loopback only): ``POST employees``,
``GET employees/{id}``, ``POST hire``, ``POST webhooks/send``, ``GET|POST faults``, ``GET state``,
``GET updates``, ``POST reset``, ``GET health`` (see ``control.py``). Webhooks: ``webhooks.py``.
Nothing here logs the API key, a signature or a request body.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import httpx
import structlog
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workers.hr.settings import HrSandboxSettings, hr_sandbox
from workers.sandbox.bamboohr import control
from workers.sandbox.bamboohr.state import HrSandboxState, unknown_fields
from workers.sandbox.bamboohr.webhooks import WebhookSender

log = structlog.get_logger(__name__)

EMPLOYEE_ROUTE = "/api/gateway.php/{company}/v1/employees/{employee_id}"
_EMPLOYEE_PATH = re.compile(r"/api/gateway\.php/[^/]+/v1/employees/[^/]+/?")
_CONTROL_EMPLOYEE_PATH = re.compile(r"/_sandbox/employees/[^/]+")
DEFAULT_FIELDS = ["firstName", "lastName"]


def error(
    status: int, message: str, fields: list[str] | None = None, headers: dict[str, str] | None = None
) -> Response:
    """An error as BambooHR sends it (message in ``X-BambooHR-Error-Message``); with ``fields``, also a
    JSON body naming them (our assumption)."""
    all_headers = {"X-BambooHR-Error-Message": message, **(headers or {})}
    if fields is not None:
        return JSONResponse({"error": message, "fields": fields}, status_code=status, headers=all_headers)
    return Response(b"", status_code=status, headers=all_headers)


def route_label(method: str, path: str) -> str:
    """The counter key of a request: the route template, never an id."""
    if _EMPLOYEE_PATH.fullmatch(path):
        return f"{method} /api/gateway.php/{{company}}/v1/employees/{{id}}/"
    if path.startswith("/api/"):
        return f"{method} /api/(other)"
    if _CONTROL_EMPLOYEE_PATH.fullmatch(path):
        return f"{method} /_sandbox/employees/{{id}}"
    if path in control.PATHS:
        return f"{method} {path}"
    return f"{method} (other)"


class ApiGate:
    """Pure ASGI middleware: counts every request by route and status, and applies the fault knobs to
    ``/api/`` calls (latency, down, unauthorized, fail_next, rate_limit_next). ``/_sandbox`` is never
    faulted."""

    def __init__(self, app: ASGIApp, state: HrSandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = self.state
        path: str = scope["path"]
        label = route_label(scope["method"], path)
        seen: list[int] = []

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen.append(message["status"])
            await send(message)

        try:
            answer = await self._fault(path) if path.startswith("/api/") else None
            if answer is not None:
                await answer(scope, receive, counting_send)
            else:
                await self.app(scope, receive, counting_send)
        finally:
            state.count_request(label, seen[0] if seen else 500)

    async def _fault(self, path: str) -> Response | None:
        faults = self.state.faults
        if faults.latency_s > 0:
            await asyncio.sleep(faults.latency_s)
        if faults.down:
            self.state.faults_injected += 1
            return error(503, "Service Unavailable")
        if faults.unauthorized:
            self.state.faults_injected += 1
            return error(401, "Unauthorized", headers={"WWW-Authenticate": 'Basic realm="BambooHR"'})
        if self.state.take("fail_next"):
            log.info("sandbox.fault_injected", fault="fail_next", status=503)
            return error(503, "Service Unavailable")
        if self.state.take("rate_limit_next"):
            log.info("sandbox.fault_injected", fault="rate_limit_next", status=429)
            return error(429, "Too Many Requests", headers={"Retry-After": "1"})
        return None


def _hr(request: Request) -> tuple[HrSandboxSettings, HrSandboxState, WebhookSender]:
    app_state = request.app.state
    return app_state.settings, app_state.hr, app_state.sender


def _authorized(request: Request, api_key: str) -> bool:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return False
    user, sep, _password = decoded.partition(":")  # any password, as BambooHR
    return bool(sep) and hmac.compare_digest(user.encode(), api_key.encode())


def _xml(answer: dict[str, Any]) -> Response:
    rows = "".join(
        f"<field id={quoteattr(k)}>{escape(v or '')}</field>" for k, v in answer.items() if k != "id"
    )
    body = f'<?xml version="1.0"?>\n<employee id={quoteattr(str(answer["id"]))}>{rows}</employee>\n'
    return Response(body, media_type="text/xml")


async def employee(request: Request) -> Response:
    settings, state, _ = _hr(request)
    if request.path_params["company"] != settings.company:
        return error(404, "Company not found")
    if not _authorized(request, settings.api_key.get_secret_value()):
        return error(401, "Unauthorized", headers={"WWW-Authenticate": 'Basic realm="BambooHR"'})
    employee_id = request.path_params["employee_id"]
    if employee_id not in state.employees:
        return error(404, "Employee not found")
    if request.method == "GET":
        param = request.query_params.get("fields")
        names = [n.strip() for n in param.split(",") if n.strip()] if param is not None else DEFAULT_FIELDS
        answer = state.answer_fields(employee_id, names)
        if "json" not in request.headers.get("accept", "").lower():
            return _xml(answer)
        return JSONResponse(answer)
    try:
        body = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return error(400, "Invalid JSON")
    if not isinstance(body, dict):
        return error(400, "Expected a JSON object of fields")
    unknown = unknown_fields(body)
    if unknown:
        log.info("sandbox.update_refused", employee_id=employee_id, fields=unknown)
        return error(400, "Unknown fields", fields=unknown)
    not_text = sorted(k for k, v in body.items() if not isinstance(v, str))
    if not_text:
        return error(400, "Field values must be strings", fields=not_text)
    state.update_employee(employee_id, body)
    log.info("sandbox.employee_updated", employee_id=employee_id, fields=sorted(body))
    return Response(b"", status_code=200)


def create_app(
    settings: HrSandboxSettings | None = None,
    state: HrSandboxState | None = None,
    *,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    """The sandbox ASGI app. ``app.state.hr`` is the ``HrSandboxState``, ``app.state.sender`` the
    ``WebhookSender``; ``webhook_transport`` replaces the network for webhook deliveries. Without a
    lifespan (``httpx.ASGITransport``), close the sender with ``await app.state.sender.aclose()``."""
    settings = settings or hr_sandbox()
    state = state or HrSandboxState()
    sender = WebhookSender(settings, state, webhook_transport)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        log.info("sandbox.bamboohr_started", company=settings.company)
        try:
            yield
        finally:
            await sender.aclose()
            log.info("sandbox.bamboohr_stopped")

    routes = [
        Route(EMPLOYEE_ROUTE, employee, methods=["GET", "POST"]),
        Route(EMPLOYEE_ROUTE + "/", employee, methods=["GET", "POST"]),
        *control.routes(),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(ApiGate, state=state)], lifespan=lifespan)
    app.state.settings = settings
    app.state.hr = state
    app.state.sender = sender
    return app
