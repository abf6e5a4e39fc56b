"""The SpotDraft sandbox's front door for ``/api/``: SpotDraft's redirects, fault knobs, authentication and
the published rate limit, applied before any route runs; and a per-route request counter.

* a known path with the wrong trailing slash answers ``302`` to the documented one (published: "a trailing
  slash is added or removed in a way that is inconsistent with this documentation");
* faults (``state.faults``): latency, down (503), unauthorized (401), fail_next (503), rate_limit_next (429);
* ``client-id`` + ``client-secret`` headers (published), else 401;
* 10 requests per second per workspace (published), else 429 with ``Retry-After`` (integer seconds, as
  Django REST framework's throttling sends it; SpotDraft does not document the header).

Error bodies follow the published ``{detail, status_code, code, message}``.
"""

from __future__ import annotations

import asyncio
import hmac
import math
import re
from typing import Any

import structlog
from starlette.datastructures import Headers
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workers.sandbox.spotdraft.state import SdSandboxState

log = structlog.get_logger(__name__)

API = "/api/v2.1/public"
# (method, path template) of every API route, as published (trailing slashes included).
API_ROUTES = (
    ("POST", "/contracts/"),
    ("GET", "/contracts/by_external_metadata/{external_id}"),
    ("POST", "/contracts/{composite_id}/send_to_counterparties"),
    ("GET", "/contracts/{composite_id}/status"),
    ("POST", "/contracts/{composite_id}/status/void"),
    ("GET", "/contracts/{composite_id}/key_pointers"),
    ("POST", "/contracts/{composite_id}/download_link"),
    ("GET", "/webhooks/hmac_key/"),
)
_CONTROL_CONTRACT = re.compile(r"/_sandbox/contracts/[^/]+(/[a-z_]+)?")


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[a-z_]+\})", API + template)
    return re.compile("".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts))


_PATTERNS = [(method, template, _pattern(template)) for method, template in API_ROUTES]


def sd_error(status: int, detail: str, code: str, headers: dict[str, str] | None = None, **fields: Any) -> Response:
    body = {"detail": detail, "status_code": status, "code": code, "message": detail, **fields}
    return JSONResponse(body, status_code=status, headers=headers)


def route_of(method: str, path: str) -> str | None:
    return next((t for m, t, p in _PATTERNS if m == method and p.fullmatch(path)), None)


def route_label(method: str, path: str) -> str:
    """The counter key of a request: the route template, never an id."""
    template = route_of(method, path)
    if template is not None:
        return f"{method} {API}{template}"
    if path.startswith("/api/"):
        return f"{method} /api/(other)"
    if path.startswith("/_storage/"):
        return f"{method} /_storage/contracts/{{id}}/v{{version}}.pdf"
    control = _CONTROL_CONTRACT.fullmatch(path)
    if control is not None:
        return f"{method} /_sandbox/contracts/{{id}}{control.group(1) or ''}"
    return f"{method} {path}" if path.startswith("/_sandbox/") else f"{method} (other)"


def _slash_redirect(method: str, path: str, query: bytes) -> Response | None:
    if route_of(method, path) is not None:
        return None
    other = path[:-1] if path.endswith("/") else path + "/"
    if route_of(method, other) is None:
        return None
    location = other + ("?" + query.decode("latin-1") if query else "")
    return RedirectResponse(location, status_code=302)


class ApiGate:
    """Pure ASGI middleware; ``/_sandbox`` and ``/_storage`` pass untouched (counted only)."""

    def __init__(self, app: ASGIApp, state: SdSandboxState, client_id: str, client_secret: str) -> None:
        self.app = app
        self.state = state
        self._id = client_id.encode()
        self._secret = client_secret.encode()

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
            answer = await self._gate(scope) if path.startswith("/api/") else None
            if answer is not None:
                await answer(scope, receive, counting_send)
            else:
                await self.app(scope, receive, counting_send)
        finally:
            self.state.count_request(label, seen[0] if seen else 500)

    async def _gate(self, scope: Scope) -> Response | None:
        redirect = _slash_redirect(scope["method"], scope["path"], scope.get("query_string", b""))
        if redirect is not None:
            return redirect
        state = self.state
        faults = state.faults
        if faults.latency_s > 0:
            await asyncio.sleep(faults.latency_s)
        if faults.down:
            state.faults_injected += 1
            return sd_error(503, "Service temporarily unavailable.", "service_unavailable")
        if faults.unauthorized:
            state.faults_injected += 1
            return sd_error(401, "Invalid client credentials.", "authentication_failed")
        if state.take("fail_next"):
            log.info("sandbox.fault_injected", fault="fail_next", status=503)
            return sd_error(503, "Service temporarily unavailable.", "service_unavailable")
        if state.take("rate_limit_next"):
            log.info("sandbox.fault_injected", fault="rate_limit_next", status=429)
            return sd_error(429, "Request was throttled.", "throttled", headers={"Retry-After": "1"})
        headers = Headers(scope=scope)
        given_id, given_secret = headers.get("client-id"), headers.get("client-secret")
        if not given_id or not given_secret:
            return sd_error(401, "Authentication credentials were not provided.", "not_authenticated")
        id_ok = hmac.compare_digest(given_id.encode(), self._id)
        secret_ok = hmac.compare_digest(given_secret.encode(), self._secret)
        if not (id_ok and secret_ok):
            return sd_error(401, "Invalid client credentials.", "authentication_failed")
        wait = state.limiter.admit(state.now())
        if wait is not None:
            state.rate_limited += 1
            seconds = max(1, math.ceil(wait))
            return sd_error(429, f"Request was throttled. Expected available in {seconds} second(s).", "throttled",
                            headers={"Retry-After": str(seconds)})  # fmt: skip
        return None


__all__ = ["API", "API_ROUTES", "ApiGate", "route_label", "route_of", "sd_error"]
