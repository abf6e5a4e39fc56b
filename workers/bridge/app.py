"""The callback bridge: provider webhooks in, Zeebe messages out (Starlette ASGI app).

``POST /webhooks/{provider}``, in this order, each step refusing before the next one runs:

1. unknown provider                                    -> 404 (the body is never read);
2. ``Content-Length`` above ``max_body_bytes``          -> 413 at once; a stream growing past it -> 413;
3. signature (Standard Webhooks HMAC-SHA256, timestamp within the tolerance, constant-time compare)
                                                       -> 401 ``invalid_signature``, nothing published;
4. JSON / event shape                                  -> 400 ``malformed_event`` (field names only);
5. signed ``webhook-id`` header != body ``event_id``   -> 400 ``event_id_mismatch``;
6. event type we do not map                            -> 202 ``ignored`` (the provider may add events);
7. publish ``contract-ready``/``contract-failed`` with correlation key ``doc_id`` and message id
   ``event_id`` (Zeebe drops redeliveries)             -> 202 ``published`` / ``duplicate`` only after Zeebe
   accepted; Zeebe unavailable -> 503 + ``Retry-After`` so the provider retries and nothing is lost.

``GET /healthz`` (process alive), ``GET /readyz`` (Zeebe answers), ``GET /metrics`` (Prometheus).

One log line per delivery with provider, event_id, event_type, doc_id, outcome and status code; never the
body, the headers, the secret or the metadata.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from workers.bridge.events import (
    MalformedEvent,
    message_name,
    message_variables,
    parse_envelope,
    parse_event,
)
from workers.bridge.metrics import WEBHOOKS
from workers.bridge.publisher import MessagePublisher, PublisherUnavailable
from workers.config import BridgeSettings
from workers.signing import SignatureError, verify

__all__ = ["RETRY_AFTER_S", "create_app"]

log = structlog.get_logger(__name__)

RETRY_AFTER_S = 5
_LOG_FIELD_MAX = 128


class _BodyTooLarge(Exception):
    pass


def _secret_text(value: Any) -> str:
    # Accept pydantic SecretStr too, so callers can hand over settings values as they are.
    getter = getattr(value, "get_secret_value", None)
    return getter() if callable(getter) else str(value)


def _clip(value: str) -> str:
    return value if len(value) <= _LOG_FIELD_MAX else value[:_LOG_FIELD_MAX] + "..."


async def _read_body(request: Request, limit: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise _BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(
    publisher: MessagePublisher,
    secrets: Mapping[str, str],
    settings: BridgeSettings,
    *,
    registry: CollectorRegistry = REGISTRY,
) -> Starlette:
    """Build the bridge app. ``secrets`` maps provider name (the path segment) to its webhook secret."""
    provider_secrets = {name: _secret_text(secret) for name, secret in secrets.items()}
    max_body = settings.max_body_bytes
    tolerance_s = settings.timestamp_tolerance_s
    ttl_ms = int(settings.message_ttl_s * 1000)

    def finish(status_code: int, body: dict[str, Any], fields: dict[str, Any], outcome: str, **headers: str) -> Response:
        WEBHOOKS.labels(provider=fields["provider"], outcome=outcome).inc()
        level = "info" if status_code < 400 else ("error" if status_code == 500 else "warning")
        getattr(log, level)("bridge.webhook", **fields, outcome=outcome, status_code=status_code)
        return JSONResponse(body, status_code=status_code, headers=headers or None)

    async def webhook(request: Request) -> Response:
        provider = request.path_params["provider"]
        secret = provider_secrets.get(provider)
        # Only configured names reach logs and metric labels: the path is attacker-controlled.
        fields: dict[str, Any] = {"provider": provider if secret is not None else "unknown"}
        if secret is None:
            return finish(404, {"error": "unknown_provider"}, fields, "unknown_provider")

        length_header = request.headers.get("content-length")
        if length_header is not None:
            try:
                length = int(length_header)
            except ValueError:
                length = -1
            if length < 0:
                fields["reason"] = "invalid Content-Length"
                return finish(400, {"error": "bad_request", "detail": "invalid Content-Length"}, fields, "bad_request")
            if length > max_body:
                return finish(413, {"error": "body_too_large", "limit": max_body}, fields, "body_too_large")
        try:
            raw = await _read_body(request, max_body)
        except _BodyTooLarge:
            return finish(413, {"error": "body_too_large", "limit": max_body}, fields, "body_too_large")
        except ClientDisconnect:
            return finish(400, {"error": "client_disconnected"}, fields, "client_disconnected")

        try:
            signed_id = verify(secret, raw, request.headers, tolerance_s)
        except SignatureError as exc:
            reason = str(exc)
            fields["reason"] = reason
            return finish(401, {"error": "invalid_signature", "detail": reason}, fields, "invalid_signature")

        try:
            payload = json.loads(raw)
        except (ValueError, RecursionError):
            detail = "body is not valid JSON"
            fields["reason"] = detail
            return finish(400, {"error": "malformed_event", "detail": detail}, fields, "malformed_event")
        try:
            envelope = parse_envelope(payload)
        except MalformedEvent as exc:
            fields["reason"] = str(exc)
            return finish(400, {"error": "malformed_event", "detail": str(exc)}, fields, "malformed_event")
        fields["event_type"] = _clip(envelope.event_type)

        if envelope.event_id != signed_id:
            detail = "event_id does not match the signed webhook-id header"
            fields["reason"] = detail
            return finish(400, {"error": "event_id_mismatch", "detail": detail}, fields, "event_id_mismatch")
        fields["event_id"] = _clip(envelope.event_id)

        name = message_name(envelope.event_type)
        if name is None:
            return finish(202, {"status": "ignored"}, fields, "ignored")

        try:
            event = parse_event(payload)
        except MalformedEvent as exc:
            fields["reason"] = str(exc)
            return finish(400, {"error": "malformed_event", "detail": str(exc)}, fields, "malformed_event")
        fields["doc_id"] = _clip(event.doc_id)
        fields["message"] = name

        try:
            result = await publisher.publish(
                name=name,
                correlation_key=event.doc_id,
                variables=message_variables(event),
                ttl_ms=ttl_ms,
                message_id=event.event_id,
            )
        except PublisherUnavailable as exc:
            fields["reason"] = str(exc)
            return finish(
                503,
                {"error": "zeebe_unavailable", "detail": "the workflow engine is unavailable, retry later"},
                fields,
                "unavailable",
                **{"Retry-After": str(RETRY_AFTER_S)},
            )
        except Exception as exc:  # a bug or an unforeseen failure: the provider retries on 5xx
            fields["reason"] = type(exc).__name__
            return finish(500, {"error": "internal_error"}, fields, "error")

        outcome = "duplicate" if result.duplicate else "published"
        return finish(202, {"status": outcome, "message": name}, fields, outcome)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "alive"})

    async def readyz(request: Request) -> Response:
        try:
            ready = await publisher.ready()
        except Exception as exc:
            log.warning("bridge.readyz_failed", reason=type(exc).__name__)
            ready = False
        if ready:
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "not_ready"}, status_code=503)

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    routes = [
        Route("/webhooks/{provider}", webhook, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    return Starlette(routes=routes)
