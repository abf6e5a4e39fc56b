"""The BambooHR sandbox's control plane, ``/_sandbox/...`` (no auth: the sandbox listens on loopback).

* ``POST /_sandbox/employees`` — create or replace a record from BambooHR field names (``"id"`` optional,
  else the next free number) -> 201 ``{"id"}``.
* ``GET /_sandbox/employees/{id}`` — the stored record, custom fields included, plus ``"updates": n``.
* ``POST /_sandbox/hire`` — ``{"employee": {...}}`` and/or ``{"employeeId": "101"}``: stores the record if
  given, then sends the signed ``employee.created`` webhook and answers ``{"employeeId", "eventId",
  "timestamp", "deliveries": [{"delivery", "attempt", "status"}], "delivered"}``.
* ``POST /_sandbox/webhooks/send`` — ``{"employeeId", "type", "changedFields", "times", "signature",
  "timestamp"}``: ``times`` identical deliveries (same body; ``timestamp`` reuses an earlier event's body
  timestamp for an exact redelivery); same answer.
* ``GET|POST /_sandbox/faults``, ``GET /_sandbox/state``, ``GET /_sandbox/updates``, ``POST /_sandbox/reset``,
  ``GET /_sandbox/health``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from workers.hr.base import valid_employee_id
from workers.hr.signing import EVENT_TYPES
from workers.sandbox.bamboohr.state import HrSandboxState, unknown_fields
from workers.sandbox.bamboohr.webhooks import SIGNATURE_MODES, WebhookSender

log = structlog.get_logger(__name__)

MAX_TIMES = 20
_FIELD = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_TIMESTAMP = re.compile(r"[0-9T:+.Z -]{1,40}")
PATHS = frozenset({
    "/_sandbox/employees", "/_sandbox/hire", "/_sandbox/webhooks/send", "/_sandbox/faults", "/_sandbox/state",
    "/_sandbox/updates", "/_sandbox/reset", "/_sandbox/health",
})  # fmt: skip


def _bad(status: int, error: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": error, **extra}, status_code=status)


def _hr(request: Request) -> tuple[HrSandboxState, WebhookSender]:
    return request.app.state.hr, request.app.state.sender


async def _object(request: Request) -> dict[str, Any] | Response:
    raw = await request.body()
    try:
        body = json.loads(raw) if raw.strip() else {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _bad(400, "invalid_json")
    if not isinstance(body, dict):
        return _bad(400, "invalid_json", detail="expected a JSON object")
    return body


def _store(state: HrSandboxState, record: Any, employee_id: Any = None) -> str | Response:
    """Create or replace a record; the id comes from ``record["id"]``, ``employee_id`` or the next free."""
    if not isinstance(record, dict):
        return _bad(400, "invalid_employee", detail="expected an object of BambooHR fields")
    fields = {k: v for k, v in record.items() if k != "id" and v is not None}
    wanted = record.get("id", employee_id)
    if wanted is not None and not valid_employee_id(str(wanted)):
        return _bad(400, "invalid_id", detail="1-64 letters, digits, '_' or '-'")
    unknown = unknown_fields(fields)
    if unknown:
        return _bad(400, "unknown_fields", fields=unknown)
    not_text = sorted(k for k, v in fields.items() if not isinstance(v, str))
    if not_text:
        return _bad(400, "invalid_values", fields=not_text, detail="values must be strings")
    new_id = str(wanted) if wanted is not None else state.next_id()
    state.put_employee(new_id, fields)
    log.info("sandbox.employee_stored", employee_id=new_id, fields=sorted(fields))
    return new_id


async def create_employee(request: Request) -> Response:
    state, _ = _hr(request)
    body = await _object(request)
    if isinstance(body, Response):
        return body
    stored = _store(state, body)
    if isinstance(stored, Response):
        return stored
    return JSONResponse({"id": stored}, status_code=201)


async def get_employee(request: Request) -> Response:
    state, _ = _hr(request)
    employee_id = request.path_params["employee_id"]
    record = state.employees.get(employee_id)
    if record is None:
        return _bad(404, "employee_not_found")
    return JSONResponse({"id": employee_id, **record, "updates": state.updates_of(employee_id)})


async def hire(request: Request) -> Response:
    state, sender = _hr(request)
    body = await _object(request)
    if isinstance(body, Response):
        return body
    employee_id = body.get("employeeId")
    if "employee" in body:
        stored = _store(state, body["employee"], employee_id)
        if isinstance(stored, Response):
            return stored
        employee_id = stored
    if not isinstance(employee_id, str) or not valid_employee_id(employee_id):
        return _bad(400, "invalid_request", detail="give employee (an object) or employeeId")
    if employee_id not in state.employees:
        return _bad(404, "employee_not_found")
    return JSONResponse(await sender.send(employee_id, "employee.created"))


def _send_options(body: dict[str, Any]) -> dict[str, Any] | Response:
    employee_id = body.get("employeeId")
    if not isinstance(employee_id, str) or not valid_employee_id(employee_id):
        return _bad(400, "invalid_request", fields=["employeeId"])
    event_type = body.get("type", "employee.created")
    if event_type not in EVENT_TYPES:
        return _bad(400, "invalid_request", fields=["type"], allowed=list(EVENT_TYPES))
    changed = body.get("changedFields")
    if changed is not None and not (
        isinstance(changed, list) and all(isinstance(n, str) and _FIELD.fullmatch(n) for n in changed)
    ):
        return _bad(400, "invalid_request", fields=["changedFields"])
    times = body.get("times", 1)
    if isinstance(times, bool) or not isinstance(times, int) or not 1 <= times <= MAX_TIMES:
        return _bad(400, "invalid_request", fields=["times"], detail=f"an integer 1-{MAX_TIMES}")
    signature = body.get("signature", "valid")
    if signature not in SIGNATURE_MODES:
        return _bad(400, "invalid_request", fields=["signature"], allowed=list(SIGNATURE_MODES))
    timestamp = body.get("timestamp")
    if timestamp is not None and not (isinstance(timestamp, str) and _TIMESTAMP.fullmatch(timestamp)):
        return _bad(400, "invalid_request", fields=["timestamp"])
    return {
        "employee_id": employee_id, "event_type": event_type, "changed_fields": changed, "times": times,
        "signature": signature, "timestamp": timestamp,
    }  # fmt: skip


async def send_webhook(request: Request) -> Response:
    _, sender = _hr(request)
    body = await _object(request)
    if isinstance(body, Response):
        return body
    options = _send_options(body)
    if isinstance(options, Response):
        return options
    employee_id = options.pop("employee_id")
    event_type = options.pop("event_type")
    return JSONResponse(await sender.send(employee_id, event_type, **options))


async def faults(request: Request) -> Response:
    state, _ = _hr(request)
    if request.method == "GET":
        return JSONResponse({"faults": state.faults.to_json()})
    knobs = await _object(request)
    if isinstance(knobs, Response):
        return knobs
    try:
        current = state.set_faults(knobs)
    except ValueError as exc:
        return _bad(400, "invalid_knob", detail=str(exc))
    log.info("sandbox.faults_set", knobs=sorted(knobs))
    return JSONResponse({"faults": current})


async def snapshot(request: Request) -> Response:
    state, _ = _hr(request)
    return JSONResponse(state.snapshot())


async def updates(request: Request) -> Response:
    state, _ = _hr(request)
    return JSONResponse({"updates": state.update_log})


async def reset(request: Request) -> Response:
    state, _ = _hr(request)
    state.reset()
    log.info("sandbox.reset")
    return JSONResponse({"reset": True})


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def routes() -> list[Route]:
    return [
        Route("/_sandbox/employees", create_employee, methods=["POST"]),
        Route("/_sandbox/employees/{employee_id}", get_employee, methods=["GET"]),
        Route("/_sandbox/hire", hire, methods=["POST"]),
        Route("/_sandbox/webhooks/send", send_webhook, methods=["POST"]),
        Route("/_sandbox/faults", faults, methods=["GET", "POST"]),
        Route("/_sandbox/state", snapshot, methods=["GET"]),
        Route("/_sandbox/updates", updates, methods=["GET"]),
        Route("/_sandbox/reset", reset, methods=["POST"]),
        Route("/_sandbox/health", health, methods=["GET"]),
    ]
