"""The HubSpot sandbox's control plane, ``/_sandbox/...`` (no auth: the sandbox listens on loopback).

* ``POST /_sandbox/deals`` — create or replace a deal: ``{"id"?, "properties": {...}, "contact": {"id"?,
  "properties"} | "contactIds": [...], "company": {...} | "companyIds": [...]}`` (ids: digits; new ones
  are the next free number) -> 201 ``{"dealId", "contactIds", "companyIds"}``.
* ``GET /_sandbox/deals/{id}`` — every stored property, the associated contacts and companies, the first
  properties (``firstProperties``) and every change (``history``: PATCHes and control-plane changes).
* ``POST /_sandbox/deals/{id}/close`` — sets ``dealstage`` (``"stage"``, default ``closedwon``) and sends
  the signed webhook batch ``[deal.propertyChange dealstage]``. Options: ``times`` (identical
  redeliveries: same ``eventId``, ``attemptNumber`` one higher each attempt), ``signature`` (``valid`` |
  ``forged`` | ``stale`` | ``missing``), ``noise`` (true: an ``amount`` change and a ``contact.creation``
  around it in the same batch). Answers ``{"dealIds", "eventIds", "events", "deliveries": [{"delivery",
  "attempt", "attemptNumber", "status"}], "delivered"}``.
* ``POST /_sandbox/webhooks/close`` — the same for ``{"dealIds": [...]}``: ONE batch closing them all.
* ``GET|POST /_sandbox/faults``, ``GET /_sandbox/state``, ``POST /_sandbox/reset``, ``GET /_sandbox/health``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from workers.sandbox.hubspot.state import DEAL_STAGES, KNOWN_PROPERTIES, CrmSandboxState
from workers.sandbox.hubspot.webhooks import SIGNATURE_MODES, WebhookSender, event

log = structlog.get_logger(__name__)

MAX_TIMES = 20
MAX_DEALS = 100  # HubSpot sends at most 100 events per request
_ID = re.compile(r"[0-9]{1,18}")
PATHS = frozenset({"/_sandbox/deals", "/_sandbox/webhooks/close", "/_sandbox/faults", "/_sandbox/state",
                   "/_sandbox/reset", "/_sandbox/health"})  # fmt: skip


def _bad(status: int, error: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": error, **extra}, status_code=status)


def _parts(request: Request) -> tuple[CrmSandboxState, WebhookSender]:
    return request.app.state.crm, request.app.state.sender


async def _object(request: Request) -> dict[str, Any] | Response:
    raw = await request.body()
    try:
        body = json.loads(raw) if raw.strip() else {}
    except (ValueError, UnicodeDecodeError):
        return _bad(400, "invalid_json")
    if not isinstance(body, dict):
        return _bad(400, "invalid_json", detail="expected a JSON object")
    return body


def _properties(object_type: str, raw: Any, where: str) -> dict[str, str] | Response:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        return _bad(400, "invalid_request", fields=[where])
    unknown = sorted(k for k in raw if k not in KNOWN_PROPERTIES[object_type])
    if unknown:
        return _bad(400, "unknown_properties", fields=[f"{where}.{k}" for k in unknown])
    not_text = sorted(k for k, v in raw.items() if v is not None and not isinstance(v, str))
    if not_text:
        return _bad(400, "invalid_values", fields=[f"{where}.{k}" for k in not_text], detail="values must be strings")
    return {k: v for k, v in raw.items() if v is not None}


Plan = tuple[list[str], "tuple[str, str, dict[str, str]] | None"]


def _linked(state: CrmSandboxState, body: dict[str, Any], object_type: str, one: str, many: str) -> Plan | Response:
    """The ids of ``body[many]`` (existing records), or of the record ``body[one]`` describes (to store)."""
    if one in body:
        record = body[one] if isinstance(body[one], dict) else None
        if record is None:
            return _bad(400, "invalid_request", fields=[one])
        properties = _properties(object_type, record.get("properties"), f"{one}.properties")
        if isinstance(properties, Response):
            return properties
        wanted = record.get("id")
        if wanted is not None and not (isinstance(wanted, str) and _ID.fullmatch(wanted)):
            return _bad(400, "invalid_id", fields=[f"{one}.id"], detail="1-18 digits")
        object_id = wanted or state.next_id(object_type)
        return [object_id], (object_type, object_id, properties)
    ids = body.get(many, [])
    if not (isinstance(ids, list) and all(isinstance(i, str) and i in state.objects[object_type] for i in ids)):
        return _bad(400, "unknown_ids", fields=[many])
    return list(ids), None


async def create_deal(request: Request) -> Response:
    """All-or-nothing: nothing is stored unless the whole request is valid."""
    state, _ = _parts(request)
    body = await _object(request)
    if isinstance(body, Response):
        return body
    wanted = body.get("id")
    if wanted is not None and not (isinstance(wanted, str) and _ID.fullmatch(wanted)):
        return _bad(400, "invalid_id", fields=["id"], detail="1-18 digits")
    properties = _properties("deals", body.get("properties"), "properties")
    if isinstance(properties, Response):
        return properties
    contacts = _linked(state, body, "contacts", "contact", "contactIds")
    if isinstance(contacts, Response):
        return contacts
    companies = _linked(state, body, "companies", "company", "companyIds")
    if isinstance(companies, Response):
        return companies
    for _, new in (contacts, companies):
        if new is not None:
            state.put(*new)
    deal_id = wanted or state.next_id("deals")
    state.put_deal(deal_id, properties, contacts[0], companies[0])
    log.info("sandbox.deal_stored", deal_id=deal_id, properties=sorted(properties))
    return JSONResponse({"dealId": deal_id, "contactIds": contacts[0], "companyIds": companies[0]}, status_code=201)


async def get_deal(request: Request) -> Response:
    state, _ = _parts(request)
    deal_id = request.path_params["deal_id"]
    if state.deal(deal_id) is None:
        return _bad(404, "deal_not_found")
    return JSONResponse(state.full_record(deal_id))


def _close_options(body: dict[str, Any]) -> dict[str, Any] | Response:
    times = body.get("times", 1)
    if isinstance(times, bool) or not isinstance(times, int) or not 1 <= times <= MAX_TIMES:
        return _bad(400, "invalid_request", fields=["times"], detail=f"an integer 1-{MAX_TIMES}")
    signature = body.get("signature", "valid")
    if signature not in SIGNATURE_MODES:
        return _bad(400, "invalid_request", fields=["signature"], allowed=list(SIGNATURE_MODES))
    stage = body.get("stage", "closedwon")
    if stage not in DEAL_STAGES:
        return _bad(400, "invalid_request", fields=["stage"], allowed=list(DEAL_STAGES))
    noise = body.get("noise", False)
    if not isinstance(noise, bool):
        return _bad(400, "invalid_request", fields=["noise"])
    return {"times": times, "signature": signature, "stage": stage, "noise": noise}


async def _close(request: Request, deal_ids: list[str], body: dict[str, Any]) -> Response:
    state, sender = _parts(request)
    options = _close_options(body)
    if isinstance(options, Response):
        return options
    if any(state.deal(d) is None for d in deal_ids):
        return _bad(404, "deal_not_found")
    settings, stage = request.app.state.settings, options["stage"]
    events = []
    first = state.deal(deal_ids[0])
    if options["noise"]:
        amount = first["properties"].get("amount")  # type: ignore[index]
        events.append(event(settings, state, "deal.propertyChange", deal_ids[0], "amount", amount))
    for deal_id in deal_ids:
        state.change_deal(deal_id, {"dealstage": stage}, source="sandbox")
        events.append(event(settings, state, "deal.propertyChange", deal_id, "dealstage", stage))
    if options["noise"]:
        contact = (first["contacts"] or ["201"])[0]  # type: ignore[index]
        events.append(event(settings, state, "contact.creation", contact))
    answer = await sender.send(events, times=options["times"], signature=options["signature"])
    return JSONResponse({"dealIds": deal_ids, **answer})


async def close_deal(request: Request) -> Response:
    body = await _object(request)
    if isinstance(body, Response):
        return body
    return await _close(request, [request.path_params["deal_id"]], body)


async def close_deals(request: Request) -> Response:
    body = await _object(request)
    if isinstance(body, Response):
        return body
    ids = body.get("dealIds")
    if not (isinstance(ids, list) and 1 <= len(ids) <= MAX_DEALS and all(isinstance(i, str) for i in ids)):
        return _bad(400, "invalid_request", fields=["dealIds"], detail=f"1-{MAX_DEALS} deal ids")
    return await _close(request, list(dict.fromkeys(ids)), body)


async def faults(request: Request) -> Response:
    state, _ = _parts(request)
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
    return JSONResponse(_parts(request)[0].snapshot())


async def reset(request: Request) -> Response:
    _parts(request)[0].reset()
    log.info("sandbox.reset")
    return JSONResponse({"reset": True})


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def routes() -> list[Route]:
    return [
        Route("/_sandbox/deals", create_deal, methods=["POST"]),
        Route("/_sandbox/deals/{deal_id}", get_deal, methods=["GET"]),
        Route("/_sandbox/deals/{deal_id}/close", close_deal, methods=["POST"]),
        Route("/_sandbox/webhooks/close", close_deals, methods=["POST"]),
        Route("/_sandbox/faults", faults, methods=["GET", "POST"]),
        Route("/_sandbox/state", snapshot, methods=["GET"]),
        Route("/_sandbox/reset", reset, methods=["POST"]),
        Route("/_sandbox/health", health, methods=["GET"]),
    ]
