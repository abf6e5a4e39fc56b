"""The sandbox's API routes: templates, generation (idempotency keys, validation, rendering) and documents
(status, signed download URLs, the PDF).
"""

from __future__ import annotations

import json
from typing import Any

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from workers.sandbox.bad_answers import LOGIN_PAGE
from workers.sandbox.state import DocumentRecord, body_fingerprint
from workers.sandbox.templates import INVALID_TYPE, MISSING, validate
from workers.sandbox.common import (
    MAX_IDEMPOTENCY_KEY,
    SCOPE_DOCUMENTS_READ,
    _bearer,
    _document_view,
    _error,
    _has_scope,
    _sandbox,
    _valid_url,
)

log = structlog.get_logger(__name__)


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
