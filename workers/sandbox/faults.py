"""Fault injection for the sandbox's API routes (an ASGI middleware driven by ``SandboxState.faults``).
"""

from __future__ import annotations

import asyncio
import math

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workers.sandbox.bad_answers import trickling
from workers.sandbox.state import SandboxState
from workers.sandbox.common import API_PREFIXES, _STATUS_ERRORS, _error

log = structlog.get_logger(__name__)


# --- fault injection ------------------------------------------------------------------------------


class FaultInjection:
    """Pure ASGI middleware applying the fault knobs to API calls (``/v1``, ``/oauth``), in this order:
    latency, down, fail_next, rate_limit_next, trickle_next, timeout_next. ``/_sandbox`` is never affected."""

    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIXES):
            await self.app(scope, receive, send)
            return
        state = self.state
        path: str = scope["path"]
        method: str = scope["method"]
        if path == "/oauth/token":
            state.count("token_requests")
        elif path == "/v1/generate" and method == "POST":
            state.count("generate_calls")

        faults = state.faults
        if faults.latency_ms > 0:
            await asyncio.sleep(faults.latency_ms / 1000)
        if faults.down:
            state.count("faults_injected")
            await _error(503, "service_unavailable")(scope, receive, send)
            return
        status = state.take_fail(path)
        if status is not None:
            state.count("faults_injected")
            log.info("sandbox.fault_injected", fault="fail_next", path=path, status=status)
            await _error(status, _STATUS_ERRORS.get(status, "injected_fault"))(scope, receive, send)
            return
        limit = state.take_rate_limit()
        if limit is not None:
            state.count("faults_injected")
            log.info("sandbox.fault_injected", fault="rate_limit_next", path=path)
            header = limit.header or str(max(0, math.ceil(limit.retry_after)))
            await _error(429, "rate_limited", {"Retry-After": header}, retry_after=limit.retry_after)(
                scope, receive, send
            )
            return
        trickle = state.take_trickle(path)
        if trickle is not None:
            state.count("faults_injected")
            log.info("sandbox.fault_injected", fault="trickle_next", path=path, chunk_bytes=trickle.chunk_bytes)
            send = trickling(send, trickle)
        hold = state.take_timeout()
        if hold is None:
            await self.app(scope, receive, send)
            return
        state.count("faults_injected")
        log.info("sandbox.fault_injected", fault="timeout_next", path=path, seconds=hold.seconds, when=hold.when)
        if hold.when == "before":
            await asyncio.sleep(hold.seconds)
            await self.app(scope, receive, send)
            return

        async def held_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                await asyncio.sleep(hold.seconds)
            await send(message)

        await self.app(scope, receive, held_send)
