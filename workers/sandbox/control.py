"""The sandbox's control plane, ``/_sandbox/...`` (no auth: the sandbox listens on loopback only).
"""

from __future__ import annotations

import json

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from workers.sandbox.common import _error, _sandbox

log = structlog.get_logger(__name__)


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
