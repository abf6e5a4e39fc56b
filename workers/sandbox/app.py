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

import asyncio
import base64
import binascii
import hmac
import json
import math
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlsplit

import httpx
import structlog
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workers.config import SandboxSettings
from workers.config import sandbox as sandbox_settings
from workers.sandbox.bad_answers import LOGIN_PAGE, trickling
from workers.sandbox.pdf import render_pdf
from workers.sandbox.state import DocumentRecord, SandboxState, TokenRecord, body_fingerprint
from workers.sandbox.templates import INVALID_TYPE, MISSING, validate
from workers.signing import sign

log = structlog.get_logger(__name__)

API_PREFIXES = ("/v1", "/oauth")
SCOPE_DOCUMENTS_READ = "documents:read"
SCOPE_GENERATE_ANY = "generate:*"
EVENT_READY = "document.ready"
EVENT_FAILED = "document.failed"
MAX_IDEMPOTENCY_KEY = 255
USER_AGENT = "contractize-sandbox/1.0"

_STATUS_ERRORS = {
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


def _error(status_code: int, error: str, headers: dict[str, str] | None = None, /, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": error, **extra}, status_code=status_code, headers=headers)


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


# --- helpers --------------------------------------------------------------------------------------


def _sandbox(request: Request) -> tuple[SandboxSettings, SandboxState, WebhookDispatcher]:
    app_state = request.app.state
    return app_state.settings, app_state.sandbox, app_state.dispatcher


def _bearer(request: Request, need: str | None = None) -> TokenRecord | JSONResponse:
    """The caller's token record, or the 401/403 answer to send."""
    _, state, _ = _sandbox(request)
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _error(
            401, "invalid_token", {"WWW-Authenticate": 'Bearer realm="sandbox"'},
            error_description="a bearer token is required",
        )
    record = state.check_token(token.strip())
    if record is None:
        return _error(
            401, "invalid_token", {"WWW-Authenticate": 'Bearer realm="sandbox", error="invalid_token"'},
            error_description="the token is unknown, revoked or expired",
        )
    if need is not None and not _has_scope(record, need):
        return _error(
            403, "insufficient_scope",
            {"WWW-Authenticate": f'Bearer realm="sandbox", error="insufficient_scope", scope="{need}"'},
            scope=need,
        )
    return record


def _has_scope(record: TokenRecord, need: str) -> bool:
    if need in record.scopes:
        return True
    return need.startswith("generate:") and SCOPE_GENERATE_ANY in record.scopes


def _document_view(request: Request, doc: DocumentRecord) -> dict[str, Any]:
    settings, state, _ = _sandbox(request)
    download_url = None
    if doc.status == "ready":
        expires = int(state.now()) + settings.download_url_ttl_s
        url = request.url_for("download", doc_id=doc.doc_id).include_query_params(
            expires=expires, signature=state.download_signature(doc.doc_id, expires)
        )
        download_url = str(url)
    return {
        "doc_id": doc.doc_id,
        "status": doc.status,
        "template_id": doc.template_id,
        "template_version": doc.template_version,
        "metadata": doc.metadata,
        "created_at": doc.created_at.isoformat(),
        "download_url": download_url,
    }


def _valid_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


# --- OAuth ----------------------------------------------------------------------------------------


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        client_id, sep, client_secret = decoded.partition(":")
        if not sep:
            return None
        # RFC 6749 2.3.1: both parts are form-urlencoded before base64.
        return unquote_plus(client_id), unquote_plus(client_secret)
    if "client_id" in form and "client_secret" in form:
        return form["client_id"], form["client_secret"]
    return None


async def token(request: Request) -> Response:
    settings, state, _ = _sandbox(request)
    no_store = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return _error(400, "invalid_request", no_store, error_description="expected a form-encoded body")
    raw = await request.body()
    try:
        form = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        return _error(400, "invalid_request", no_store, error_description="the body is not UTF-8")

    creds = _client_credentials(request, form)
    ok = False
    if creds is not None:
        id_ok = hmac.compare_digest(creds[0].encode(), settings.client_id.encode())
        secret_ok = hmac.compare_digest(creds[1].encode(), settings.client_secret.get_secret_value().encode())
        ok = id_ok and secret_ok
    if not ok:
        log.info("sandbox.token_refused", reason="invalid_client")
        return _error(401, "invalid_client", {**no_store, "WWW-Authenticate": 'Basic realm="sandbox"'})

    grant_type = form.get("grant_type")
    if not grant_type:
        return _error(400, "invalid_request", no_store, error_description="grant_type is required")
    if grant_type != "client_credentials":
        return _error(400, "unsupported_grant_type", no_store)

    requested = form.get("scope", "").split()
    if requested:
        granted: list[str] = []
        for scope in requested:
            template_id = scope.removeprefix("generate:") if scope.startswith("generate:") else None
            allowed = scope in (SCOPE_DOCUMENTS_READ, SCOPE_GENERATE_ANY) or (
                template_id is not None and template_id in state.templates
            )
            if not allowed:
                return _error(400, "invalid_scope", no_store, error_description=f"scope not allowed: {scope}")
            if scope not in granted:
                granted.append(scope)
    else:
        granted = [SCOPE_GENERATE_ANY, SCOPE_DOCUMENTS_READ]

    access_token, _record = state.issue_token(settings.client_id, tuple(granted), settings.token_ttl_s)
    log.info("sandbox.token_issued", client_id=settings.client_id, scopes=" ".join(granted))
    return JSONResponse(
        {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": settings.token_ttl_s,
            "scope": " ".join(granted),
        },
        headers=no_store,
    )


# --- templates ------------------------------------------------------------------------------------


async def list_templates(request: Request) -> Response:
    auth = _bearer(request)
    if isinstance(auth, Response):
        return auth
    _, state, _ = _sandbox(request)
    return JSONResponse({"templates": [t.to_json() for t in state.templates.values()]})


async def get_template(request: Request) -> Response:
    auth = _bearer(request)
    if isinstance(auth, Response):
        return auth
    _, state, _ = _sandbox(request)
    template = state.templates.get(request.path_params["template_id"])
    if template is None:
        return _error(404, "template_not_found")
    return JSONResponse(template.to_json())


# --- generation -----------------------------------------------------------------------------------


async def generate(request: Request) -> Response:
    _, state, dispatcher = _sandbox(request)
    auth = _bearer(request)
    if isinstance(auth, Response):
        return auth
    try:
        body = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _error(400, "invalid_json")
    if not isinstance(body, dict):
        return _error(400, "invalid_json", error_description="the body must be a JSON object")

    template_id = body.get("template_id")
    if not isinstance(template_id, str) or not template_id:
        problem = MISSING if template_id in (None, "") else INVALID_TYPE
        return _error(422, "validation_failed", fields=[{"name": "template_id", "problem": problem}])
    need = f"generate:{template_id}"
    if not _has_scope(auth, need):
        return _error(
            403, "insufficient_scope",
            {"WWW-Authenticate": f'Bearer realm="sandbox", error="insufficient_scope", scope="{need}"'},
            scope=need,
        )

    key = request.headers.get("idempotency-key")
    if key is not None and not (0 < len(key) <= MAX_IDEMPOTENCY_KEY and key.isprintable()):
        return _error(400, "invalid_idempotency_key", error_description=f"1..{MAX_IDEMPOTENCY_KEY} printable characters")
    fingerprint = body_fingerprint(body)
    # From here to add_document there is no await: two concurrent calls with one key cannot both create.
    if key is not None:
        existing = state.by_idempotency_key(key)
        if existing is not None:
            if existing.body_sha256 != fingerprint:
                log.info("sandbox.idempotency_conflict", doc_id=existing.doc_id)
                return _error(
                    409, "idempotency_key_reused",
                    error_description="this Idempotency-Key was used with a different request body",
                )
            state.count("idempotent_replays")
            log.info("sandbox.idempotent_replay", doc_id=existing.doc_id)
            return JSONResponse(
                _document_view(request, existing), status_code=200, headers={"Idempotent-Replayed": "true"}
            )

    template = state.templates.get(template_id)
    if template is None:
        return _error(404, "template_not_found")

    problems: list[dict[str, Any]] = []
    data = body.get("data")
    if not isinstance(data, dict):
        problems.append({"name": "data", "problem": MISSING if data is None else INVALID_TYPE})
        data = {}
    else:
        problems.extend(validate(template, data))
    callback_url = body.get("callback_url")
    if callback_url in (None, ""):
        problems.append({"name": "callback_url", "problem": MISSING})
    elif not isinstance(callback_url, str) or not _valid_url(callback_url):
        problems.append({"name": "callback_url", "problem": INVALID_TYPE})
    metadata = body.get("metadata", {})
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        problems.append({"name": "metadata", "problem": INVALID_TYPE})
        metadata = {}
    version = metadata.get("template_version")
    if version is not None and str(version) != template.version:
        problems.append(
            {"name": "metadata.template_version", "problem": "version_mismatch", "expected": template.version}
        )
    if problems:
        log.info("sandbox.generate_rejected", template_id=template_id, fields=[p["name"] for p in problems])
        return _error(422, "validation_failed", fields=problems)

    doc = DocumentRecord(
        doc_id=state.new_doc_id(),
        template_id=template.template_id,
        template_version=template.version,
        data=dict(data),
        metadata=dict(metadata),
        callback_url=callback_url,
        idempotency_key=key,
        body_sha256=fingerprint,
        created_at=state.now_dt(),
    )
    state.add_document(doc)
    log.info("sandbox.document_created", doc_id=doc.doc_id, template_id=doc.template_id, request_id=doc.request_id)
    # The answer as it stands at creation time (the early-webhook case answers with this snapshot).
    answer = _document_view(request, doc)

    if state.faults.webhook_early:
        # The webhook arrives before the client even has the generate response.
        await dispatcher.finish(doc)
        if state.faults.webhook_enabled:
            event_type = dispatcher.event_type(doc)
            if not await dispatcher.attempt(doc, event_type, 1):
                dispatcher.spawn(dispatcher.deliver(doc, event_type, first_attempt=2), name=f"webhook:{doc.doc_id}")
        dispatcher.notify(doc, first_attempt_done=True)
    else:
        dispatcher.spawn(dispatcher.process(doc), name=f"document:{doc.doc_id}")
    return JSONResponse(answer, status_code=202)


# --- documents ------------------------------------------------------------------------------------


async def list_documents(request: Request) -> Response:
    auth = _bearer(request, SCOPE_DOCUMENTS_READ)
    if isinstance(auth, Response):
        return auth
    _, state, _ = _sandbox(request)
    key = request.query_params.get("idempotency_key")
    if key is not None:
        doc = state.by_idempotency_key(key)
        docs = [doc] if doc is not None else []
    else:
        docs = list(state.documents.values())
    return JSONResponse({"documents": [_document_view(request, d) for d in docs]})


async def get_document(request: Request) -> Response:
    auth = _bearer(request, SCOPE_DOCUMENTS_READ)
    if isinstance(auth, Response):
        return auth
    _, state, _ = _sandbox(request)
    doc = state.documents.get(request.path_params["doc_id"])
    if doc is None:
        return _error(404, "document_not_found")
    return JSONResponse(_document_view(request, doc))


async def download(request: Request) -> Response:
    _, state, _ = _sandbox(request)
    doc_id = request.path_params["doc_id"]
    problem = state.check_download(
        doc_id, request.query_params.get("expires"), request.query_params.get("signature")
    )
    if problem is not None:
        log.info("sandbox.download_refused", doc_id=doc_id, reason=problem)
        return _error(403, "invalid_signature", error_description=problem)
    doc = state.documents.get(doc_id)
    if doc is None:
        return _error(404, "document_not_found")
    if doc.status != "ready" or doc.pdf is None:
        return _error(409, "document_not_ready", status=doc.status)
    state.count("downloads")
    bad = state.take_bad_download()
    if bad is not None:
        state.count("faults_injected")
        log.info("sandbox.fault_injected", fault="bad_download_next", doc_id=doc_id)
        return Response(LOGIN_PAGE, status_code=200, headers={"Content-Type": bad.content_type})
    return Response(
        doc.pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{doc.doc_id}.pdf"',
            "Cache-Control": "private, no-store",
        },
    )


# --- control plane --------------------------------------------------------------------------------


async def control_state(request: Request) -> Response:
    _, state, dispatcher = _sandbox(request)
    snapshot = state.snapshot()
    snapshot["background_tasks"] = len(dispatcher.tasks)
    return JSONResponse(snapshot)


async def control_reset(request: Request) -> Response:
    _, state, _ = _sandbox(request)
    tokens = request.query_params.get("tokens", "").lower() in ("1", "true", "yes")
    raw = await request.body()
    if raw.strip():
        try:
            options = json.loads(raw)
        except json.JSONDecodeError:
            return _error(400, "invalid_json")
        if isinstance(options, dict) and options.get("tokens") is True:
            tokens = True
    state.reset(tokens=tokens)
    log.info("sandbox.reset", tokens=tokens)
    return JSONResponse({"reset": True, "tokens_cleared": tokens})


async def control_faults(request: Request) -> Response:
    _, state, _ = _sandbox(request)
    if request.method == "GET":
        return JSONResponse({"faults": state.faults.to_json()})
    try:
        knobs = json.loads(await request.body() or b"{}")
    except json.JSONDecodeError:
        return _error(400, "invalid_json")
    if not isinstance(knobs, dict):
        return _error(400, "invalid_json", error_description="expected a JSON object of knobs")
    try:
        faults = state.set_faults(knobs)
    except ValueError as exc:
        return _error(400, "invalid_knob", error_description=str(exc))
    log.info("sandbox.faults_set", knobs=sorted(knobs))
    return JSONResponse({"faults": faults})


async def control_redeliver(request: Request) -> Response:
    _, state, dispatcher = _sandbox(request)
    doc = state.documents.get(request.path_params["doc_id"])
    if doc is None:
        return _error(404, "document_not_found")
    if doc.status == "processing":
        return _error(409, "document_not_ready", status=doc.status)
    event_type = dispatcher.event_type(doc)
    event_id = state.event_id(doc, event_type)
    # An explicit redelivery is sent even when webhook_enabled is false.
    if request.query_params.get("wait", "").lower() in ("1", "true", "yes"):
        delivered = await dispatcher.deliver(doc, event_type)
        return JSONResponse({"doc_id": doc.doc_id, "event_id": event_id, "delivered": delivered})
    dispatcher.spawn(dispatcher.deliver(doc, event_type), name=f"redeliver:{doc.doc_id}")
    return JSONResponse({"doc_id": doc.doc_id, "event_id": event_id, "scheduled": True}, status_code=202)


async def control_health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


# --- app ------------------------------------------------------------------------------------------


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
