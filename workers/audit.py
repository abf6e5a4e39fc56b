"""Audit trail of outbound HTTP calls: one log line per call, with hashes instead of payloads.

Seed 000, "Logging": *store request/response hashes (not full payloads) for audit trails*.
``AuditTransport`` wraps any ``httpx.AsyncBaseTransport`` and, for every request, logs exactly one
``http_call`` line on the ``workers.audit`` logger with:

* ``component``, ``method``, ``host``, ``path`` — the URL path only: query strings are never logged
  (signed download URLs carry their signature there);
* ``status`` (``None`` when no response arrived, then ``error`` names the exception type),
  ``latency_ms`` (until the response body was read or closed);
* ``request_sha256``/``request_bytes`` and ``response_sha256``/``response_bytes`` — SHA-256 (hex) and
  size of the bodies. A streamed response is hashed chunk by chunk as it passes through, and the line
  is written when the stream ends or is closed (a partially read stream is logged with
  ``response_complete=False``).

Never logged: bodies, headers (``Authorization`` carries the bearer token), query strings.
The same calls are counted in ``workers.metrics``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import structlog

from workers import metrics

log = structlog.get_logger("workers.audit")


def status_class(status: int | None) -> str:
    if status is None:
        return "error"
    return f"{status // 100}xx"


class _HashingRequestStream(httpx.AsyncByteStream):
    """Passes an unread request body through, hashing it on the way out."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.digest = hashlib.sha256()
        self.size = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            self.digest.update(chunk)
            self.size += len(chunk)
            yield chunk

    async def aclose(self) -> None:
        close = getattr(self._inner, "aclose", None)
        if close is not None:
            await close()


class _AuditedResponseStream(httpx.AsyncByteStream):
    """Hashes the response body as it is read; writes the audit line once, at the end or on close."""

    def __init__(self, inner: httpx.AsyncByteStream, finish: Any) -> None:
        self._inner = inner
        self._finish = finish
        self._digest = hashlib.sha256()
        self._size = 0
        self._done = False

    def _complete(self, complete: bool) -> None:
        if not self._done:
            self._done = True
            self._finish(self._digest.hexdigest(), self._size, complete)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            self._digest.update(chunk)
            self._size += len(chunk)
            yield chunk
        self._complete(True)

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            self._complete(False)


class AuditTransport(httpx.AsyncBaseTransport):
    """``httpx`` transport wrapper: audit log line + Prometheus metrics for every request."""

    def __init__(self, inner: httpx.AsyncBaseTransport, component: str) -> None:
        self.inner = inner
        self.component = component

    def _request_body(self, request: httpx.Request) -> tuple[Any, Any]:
        """Either (digest, size) now for a body already in memory, or a hashing stream wrapper."""
        try:
            content = request.content
        except httpx.RequestNotRead:
            wrapper = _HashingRequestStream(request.stream)
            request.stream = wrapper
            return None, wrapper
        return (hashlib.sha256(content).hexdigest(), len(content)), None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        known, wrapper = self._request_body(request)
        method = request.method
        fields: dict[str, Any] = {
            "component": self.component,
            "method": method,
            "host": request.url.host,
            "path": request.url.path,
        }

        def request_facts() -> dict[str, Any]:
            if known is not None:
                digest, size = known
            else:
                digest, size = wrapper.digest.hexdigest(), wrapper.size
            return {"request_sha256": digest, "request_bytes": size}

        def record(status: int | None, **extra: Any) -> None:
            elapsed = time.perf_counter() - started
            klass = status_class(status)
            metrics.PROVIDER_REQUEST_SECONDS.labels(self.component, method, klass).observe(elapsed)
            metrics.PROVIDER_REQUESTS.labels(self.component, method, klass).inc()
            line = {**fields, "status": status, "latency_ms": round(elapsed * 1000, 1), **request_facts(), **extra}
            if status is None or status >= 500:
                log.warning("http_call", **line)
            else:
                log.info("http_call", **line)

        try:
            response = await self.inner.handle_async_request(request)
        except BaseException as exc:
            # No response: timeouts, refused connections, cancellation. The type is enough to act on;
            # the message may quote the URL (and so a query string), so it is not logged.
            record(None, error=type(exc).__name__)
            raise

        status = response.status_code

        def finish(digest: str, size: int, complete: bool) -> None:
            extra: dict[str, Any] = {"response_sha256": digest, "response_bytes": size}
            if not complete:
                extra["response_complete"] = False
            record(status, **extra)

        return httpx.Response(
            status_code=status,
            headers=response.headers,
            stream=_AuditedResponseStream(response.stream, finish),  # type: ignore[arg-type]
            extensions=response.extensions,
            request=request,
        )

    async def aclose(self) -> None:
        await self.inner.aclose()
