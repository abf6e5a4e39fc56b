"""The callback bridge: provider webhooks in, Zeebe messages out (Starlette ASGI app).

``POST /webhooks/{provider}``, in this order, each step refusing before the next one runs:

1. unknown provider                                    -> 404 (the body is never read);
2. ``max_concurrency`` deliveries already in flight    -> 503 ``busy`` + ``Retry-After`` at once;
3. authentication (``auth.WebhookAuthenticator``): ``Content-Length`` above ``max_body_bytes`` -> 413 at
   once, a stream growing past it -> 413; body not complete within ``body_timeout_s`` -> 408; signature
   (Standard Webhooks HMAC-SHA256, current or previous secret, timestamp within the tolerance,
   constant-time compare) -> 401 ``invalid_signature``, nothing published;
4. the source (``workers.bridge.sources``) reads the body: JSON / event shape -> 400 ``malformed_event``
   (field names only); signed ``webhook-id`` != body ``event_id`` -> 400 ``event_id_mismatch``; a BambooHR
   event of another company -> 400 ``unknown_company``;
5. event type we do not act on                         -> 202 ``ignored`` (the sender may add events);
6. publish the source's message — ``contract-ready``/``contract-failed`` (correlation key ``doc_id``), or
   ``employee-hired`` (starts ``employee-nda``; correlation key = employee id, TTL 0), message id = the
   event's id                                          -> 202 ``published`` / ``duplicate`` only after Zeebe
   accepted; back-pressure -> 429 + ``Retry-After``; Zeebe unreachable -> 503 + ``Retry-After`` (the
   provider retries, nothing is lost); Zeebe rejects the message for good -> 422 ``rejected`` (logged with
   the gRPC code).

``GET /healthz`` (process alive), ``GET /readyz`` (Zeebe answers), ``GET /metrics`` (Prometheus).

One log line per delivery with provider, event_id, event_type, doc_id, outcome and status code; never the
body, the headers, the secret or the metadata.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from workers.bridge.auth import Refusal, WebhookAuthenticator
from workers.bridge.metrics import WEBHOOKS
from workers.bridge.publisher import MessagePublisher, PublisherBusy, PublisherUnavailable, PublishRejected
from workers.bridge.sources import BadEvent, Publish, WebhookSource
from workers.config import BridgeSettings
from workers.signing import WebhookVerifier

__all__ = ["RETRY_AFTER_S", "create_app"]

log = structlog.get_logger(__name__)

RETRY_AFTER_S = 5
_LOG_FIELD_MAX = 128


def _clip(value: str) -> str:
    return value if len(value) <= _LOG_FIELD_MAX else value[:_LOG_FIELD_MAX] + "..."


def create_app(
    publisher: MessagePublisher,
    verifiers: Mapping[str, WebhookSource | WebhookVerifier],
    settings: BridgeSettings,
    *,
    registry: CollectorRegistry = REGISTRY,
) -> Starlette:
    """Build the bridge app. ``verifiers`` maps the path segment to its webhook source, as
    ``workers.bridge.auth.build_verifiers`` builds it (tests: a bare ``WebhookVerifier.from_secrets(...)``
    is the contract provider's source)."""
    auth = WebhookAuthenticator(verifiers, settings)
    ttl_ms = int(settings.message_ttl_s * 1000)
    max_in_flight = settings.max_concurrency
    in_flight = 0
    retry_after = {"Retry-After": str(RETRY_AFTER_S)}

    def finish(
        status_code: int, body: dict[str, Any], fields: dict[str, Any], outcome: str,
        headers: Mapping[str, str] | None = None, level: str | None = None,
    ) -> Response:  # fmt: skip
        WEBHOOKS.labels(provider=fields["provider"], outcome=outcome).inc()
        level = level or ("info" if status_code < 400 else ("error" if status_code == 500 else "warning"))
        getattr(log, level)("bridge.webhook", **fields, outcome=outcome, status_code=status_code)
        return JSONResponse(body, status_code=status_code, headers=dict(headers) if headers else None)

    async def webhook(request: Request) -> Response:
        nonlocal in_flight
        provider = request.path_params["provider"]
        known = auth.knows(provider)
        # Only configured names reach logs and metric labels: the path is attacker-controlled.
        fields: dict[str, Any] = {"provider": provider if known else "unknown"}
        if not known:
            return finish(404, {"error": "unknown_provider"}, fields, "unknown_provider")
        if in_flight >= max_in_flight:
            return finish(503, {"error": "busy", "detail": "too many deliveries at once, retry later"},
                          fields, "busy", retry_after)  # fmt: skip
        in_flight += 1
        try:
            return await handle(request, provider, fields)
        finally:
            in_flight -= 1

    async def handle(request: Request, provider: str, fields: dict[str, Any]) -> Response:
        try:
            delivery = await auth.authenticate(request, provider)
        except Refusal as refusal:
            if refusal.detail is not None:
                fields["reason"] = refusal.detail
            return finish(refusal.status_code, refusal.body(), fields, refusal.outcome, refusal.headers)
        source = auth.sources[provider]
        try:
            # A sender may batch several events in one delivery (HubSpot): one outcome per event.
            translate_all = getattr(source, "translate_all", None)
            outcomes = (translate_all(delivery.body, delivery.event_id) if translate_all is not None
                        else [source.translate(delivery.body, delivery.event_id)])  # fmt: skip
        except BadEvent as bad:
            if bad.event_type is not None:
                fields["event_type"] = _clip(bad.event_type)
            fields["reason"] = bad.detail
            return finish(400, {"error": bad.error, "detail": bad.detail}, fields, bad.error)
        to_publish = [o for o in outcomes if isinstance(o, Publish)]
        if not to_publish:
            if outcomes:
                fields.update(event_type=_clip(outcomes[0].event_type), event_id=_clip(outcomes[0].event_id))
            return finish(202, {"status": "ignored"}, fields, "ignored")
        results: list[str] = []
        for outcome in to_publish:  # in order; a failure stops here and the sender re-sends the delivery
            fields.update({key: _clip(value) for key, value in outcome.log.items()})
            fields["message"] = outcome.name
            refused, result = await publish(outcome, fields)
            if refused is not None:
                return refused
            results.append(result)
        status = results[0] if len(set(results)) == 1 else "published"
        body: dict[str, Any] = {"status": status, "message": to_publish[0].name}
        if len(outcomes) > 1:  # a batch: say what became of each kind
            body.update(published=results.count("published"), duplicates=results.count("duplicate"),
                        ignored=len(outcomes) - len(to_publish))  # fmt: skip
        return finish(202, body, fields, status)

    async def publish(outcome: Publish, fields: dict[str, Any]) -> tuple[Response | None, str]:
        """Publish one message: (None, "published" | "duplicate"), or (the refusal to answer, "")."""
        try:
            result = await publisher.publish(
                name=outcome.name,
                correlation_key=outcome.correlation_key,
                variables=outcome.variables,
                ttl_ms=ttl_ms if outcome.ttl_ms is None else outcome.ttl_ms,
                message_id=outcome.message_id,
            )
        except PublisherBusy as exc:
            fields["reason"] = str(exc)
            body = {"error": "zeebe_busy", "detail": "the workflow engine is under load, retry later"}
            return finish(429, body, fields, "backpressure", retry_after), ""
        except PublisherUnavailable as exc:
            fields["reason"] = str(exc)
            body = {"error": "zeebe_unavailable", "detail": "the workflow engine is unavailable, retry later"}
            return finish(503, body, fields, "unavailable", retry_after), ""
        except PublishRejected as exc:
            # Retrying cannot help: a 4xx tells the provider to stop; an operator looks at the code.
            fields["reason"] = str(exc)
            fields["grpc_code"] = exc.code
            body = {"error": "rejected", "detail": "the workflow engine rejected this message"}
            return finish(422, body, fields, "rejected", level="error"), ""
        except Exception as exc:  # a bug or an unforeseen failure: the provider retries on 5xx
            fields["reason"] = type(exc).__name__
            return finish(500, {"error": "internal_error"}, fields, "error"), ""
        return None, "duplicate" if result.duplicate else "published"

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
