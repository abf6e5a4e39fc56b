"""The SpotDraft sandbox's control plane, ``/_sandbox/...`` (no auth: the sandbox listens on loopback).

* ``POST /_sandbox/contracts/{composite_id}/sign`` — the counterparty signs: ``SIGN`` then ``EXECUTED``
  (``CONTRACT_SIGNATURE_REQUESTED`` when it was ``REDLINING``, ``CONTRACT_SIGNED``, ``CONTRACT_EXECUTED``);
* ``POST /_sandbox/contracts/{composite_id}/decline`` — the counterparty declines: back to ``DRAFT``
  (``CONTRACT_SIGNATURE_DECLINED``);
  both wait for the webhook deliveries and answer ``{"compositeId", "contractId", "status", "events":
  [{"activity", "messageId", "deliveries": [...]}]}``; 404 unknown contract, 409 wrong state;
* ``GET /_sandbox/contracts`` (summaries), ``GET /_sandbox/contracts/{composite_id}`` (the stored contract);
* ``GET /_sandbox/templates``;
* ``GET /_sandbox/webhooks`` — the event log (bodies included; fictional data);
* ``POST /_sandbox/webhooks/redeliver`` — ``{"compositeId"?, "activity"?, "all"?: false, "times"?: 1,
  "signature"?: "valid"|"forged"|"missing"}``: the last matching event (or all) again, byte for byte;
* ``GET|POST /_sandbox/faults``, ``GET /_sandbox/state``, ``POST /_sandbox/reset``, ``GET /_sandbox/health``.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from workers.sandbox.spotdraft.state import SdSandboxState, StateConflict
from workers.sandbox.spotdraft.webhooks import SIGNATURE_MODES, WebhookSender

log = structlog.get_logger(__name__)

MAX_TIMES = 20


def _bad(status: int, error: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": error, **extra}, status_code=status)


def _sd(request: Request) -> tuple[SdSandboxState, WebhookSender]:
    return request.app.state.sd, request.app.state.sender


async def _object(request: Request) -> dict[str, Any] | Response:
    raw = await request.body()
    try:
        body = json.loads(raw) if raw.strip() else {}
    except (ValueError, UnicodeDecodeError):
        return _bad(400, "invalid_json")
    if not isinstance(body, dict):
        return _bad(400, "invalid_json", detail="expected a JSON object")
    return body


def _events(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"activity": r["activity"], "status": r["status"], "messageId": r["messageId"],
             "deliveries": list(r["deliveries"])} for r in records]  # fmt: skip


async def auto_sign(state: SdSandboxState, sender: WebhookSender, contract_id: int) -> None:
    """``SDSANDBOX_AUTO_SIGN_AFTER_S``: sign a sent contract that is still waiting for its counterparty."""
    contract = state.contracts.get(contract_id)
    if contract is None or contract.status not in ("REDLINING", "SIGN"):
        return
    sender.emit(contract, state.sign(contract))
    log.info("sandbox.spotdraft_auto_signed", composite_id=contract.composite_id)


async def _transition(request: Request, action: str) -> Response:
    state, sender = _sd(request)
    contract = state.by_composite(request.path_params["composite_id"])
    if contract is None:
        return _bad(404, "contract_not_found")
    try:
        activities = state.sign(contract) if action == "sign" else state.decline(contract)
    except StateConflict as exc:
        return _bad(409, "invalid_state", contractStatus=contract.status, detail=str(exc))
    records = sender.emit(contract, activities)
    await sender.drain()
    log.info("sandbox.spotdraft_counterparty", action=action, composite_id=contract.composite_id)
    return JSONResponse({"compositeId": contract.composite_id, "contractId": contract.contract_id,
                         "status": contract.status, "events": _events(records)})  # fmt: skip


async def sign(request: Request) -> Response:
    return await _transition(request, "sign")


async def decline(request: Request) -> Response:
    return await _transition(request, "decline")


async def list_contracts(request: Request) -> Response:
    state, _ = _sd(request)
    listed = [{"compositeId": c.composite_id, "status": c.status, "externalId": c.external_metadata.get("id")}
              for c in state.contracts.values()]  # fmt: skip
    return JSONResponse({"contracts": listed})


async def get_contract(request: Request) -> Response:
    state, _ = _sd(request)
    contract = state.by_composite(request.path_params["composite_id"])
    if contract is None:
        return _bad(404, "contract_not_found")
    return JSONResponse({"compositeId": contract.composite_id, **dataclasses.asdict(contract)})


async def templates(request: Request) -> Response:
    state, _ = _sd(request)
    return JSONResponse({"templates": [t.to_json() for t in state.templates.values()]})


async def webhook_log(request: Request) -> Response:
    state, _ = _sd(request)
    return JSONResponse({"events": [{**_events([r])[0], "compositeId": r["compositeId"], "body": r["body"]}
                                    for r in state.events]})  # fmt: skip


def _redeliver_options(body: dict[str, Any]) -> dict[str, Any] | Response:
    for name in ("compositeId", "activity"):
        if body.get(name) is not None and not isinstance(body[name], str):
            return _bad(400, "invalid_request", fields=[name])
    times = body.get("times", 1)
    if isinstance(times, bool) or not isinstance(times, int) or not 1 <= times <= MAX_TIMES:
        return _bad(400, "invalid_request", fields=["times"], detail=f"an integer 1-{MAX_TIMES}")
    signature = body.get("signature", "valid")
    if signature not in SIGNATURE_MODES:
        return _bad(400, "invalid_request", fields=["signature"], allowed=list(SIGNATURE_MODES))
    if not isinstance(body.get("all", False), bool):
        return _bad(400, "invalid_request", fields=["all"])
    return {"times": times, "signature": signature}


async def redeliver(request: Request) -> Response:
    state, sender = _sd(request)
    body = await _object(request)
    if isinstance(body, Response):
        return body
    options = _redeliver_options(body)
    if isinstance(options, Response):
        return options
    wanted_id, wanted_activity = body.get("compositeId"), body.get("activity")
    matching = [r for r in state.events
                if wanted_id in (None, r["compositeId"]) and wanted_activity in (None, r["activity"])]  # fmt: skip
    if not matching:
        return _bad(404, "no_matching_event")
    chosen = matching if body.get("all") else matching[-1:]
    answer = []
    for record in chosen:
        attempts = []
        for n in range(1, options["times"] + 1):
            attempts.extend(await sender.deliver(record["body"].encode(), options["signature"], n))
        record["deliveries"].extend(attempts)
        answer.append({"activity": record["activity"], "messageId": record["messageId"], "deliveries": attempts})
    return JSONResponse({"events": answer})


async def faults(request: Request) -> Response:
    state, _ = _sd(request)
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
    state, _ = _sd(request)
    return JSONResponse(state.snapshot())


async def reset(request: Request) -> Response:
    state, _ = _sd(request)
    state.reset()
    request.app.state.documents.clear()
    log.info("sandbox.reset")
    return JSONResponse({"reset": True})


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def routes() -> list[Route]:
    return [
        Route("/_sandbox/contracts", list_contracts, methods=["GET"]),
        Route("/_sandbox/contracts/{composite_id}", get_contract, methods=["GET"]),
        Route("/_sandbox/contracts/{composite_id}/sign", sign, methods=["POST"]),
        Route("/_sandbox/contracts/{composite_id}/decline", decline, methods=["POST"]),
        Route("/_sandbox/templates", templates, methods=["GET"]),
        Route("/_sandbox/webhooks", webhook_log, methods=["GET"]),
        Route("/_sandbox/webhooks/redeliver", redeliver, methods=["POST"]),
        Route("/_sandbox/faults", faults, methods=["GET", "POST"]),
        Route("/_sandbox/state", snapshot, methods=["GET"]),
        Route("/_sandbox/reset", reset, methods=["POST"]),
        Route("/_sandbox/health", health, methods=["GET"]),
    ]
