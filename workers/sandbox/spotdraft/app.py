"""The SpotDraft sandbox: a local simulator of the parts of SpotDraft's Public API v2.1 the workers use, with
SpotDraft's path layout under ``/api/v2.1/public/`` (trailing slashes as published).

* ``POST contracts/`` — template contract from ``contract_data`` + ``counter_party_details`` -> 201
  ``ExternalCreateContractResponse``; unknown template 404; bad structure or data 400 naming the fields;
* ``GET contracts/by_external_metadata/{id}`` -> 200, array of ``ExternalContractV3`` (integer ``id``);
* ``POST contracts/{composite_id}/send_to_counterparties`` ``{attachment_formats}`` -> 200; 402 when the
  workflow state does not allow it;
* ``GET contracts/{composite_id}/status``, ``GET .../key_pointers``, ``POST .../download_link``,
  ``POST .../status/void`` ``{note}`` -> 204 (400 for an executed contract);
* ``GET webhooks/hmac_key/`` -> ``{hmac_key}``.

Redirects, faults, auth and the rate limit: ``gate.py``. Storage links: ``documents.py``. Lifecycle and
webhooks: ``state.py``, ``webhooks.py``. Control plane ``/_sandbox/...``: ``control.py``. Nothing here logs
the credentials, the key, a signature or a request body.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import structlog
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from workers.providers.spotdraft.settings import ATTACHMENT_FORMATS, SpotDraftSandboxSettings, spotdraft_sandbox
from workers.sandbox.spotdraft import control
from workers.sandbox.spotdraft.documents import STORAGE_ROUTE, Documents, storage_error
from workers.sandbox.spotdraft.gate import API, ApiGate, sd_error
from workers.sandbox.spotdraft.state import CREATOR_EMAIL, RateLimiter, SdContract, SdSandboxState, StateConflict
from workers.sandbox.spotdraft.templates import validate_data
from workers.sandbox.spotdraft.webhooks import WebhookSender

log = structlog.get_logger(__name__)


def _sd(request: Request) -> tuple[SpotDraftSandboxSettings, SdSandboxState, WebhookSender]:
    app_state = request.app.state
    return app_state.settings, app_state.sd, app_state.sender


async def _json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        return _PARSE_ERROR


_PARSE_ERROR = object()


def _contract(request: Request) -> SdContract | Response:
    _, state, _ = _sd(request)
    contract = state.by_composite(request.path_params["composite_id"])
    if contract is None:
        return sd_error(404, "Contract not found.", "not_found")
    return contract


def _link(request: Request, contract: SdContract) -> str:
    return f"{str(request.base_url).rstrip('/')}/contracts/v2/{contract.contract_id}"


def contract_json(request: Request, contract: SdContract, *, listed: bool = False) -> dict[str, Any]:
    """``ExternalCreateContractResponse`` (composite ``id`` + integer ``contract_id``), or with ``listed``
    ``ExternalContractV3`` (integer ``id``)."""
    settings, state, _ = _sd(request)
    template = state.templates[contract.template_id]
    body: dict[str, Any] = {
        "id": contract.contract_id if listed else contract.composite_id,
        "created": contract.created, "contract_name": contract.name, "contract_link": _link(request, contract),
        "contract_status": contract.status, "created_by": CREATOR_EMAIL,
        "counter_party_name": contract.counter_party_name, "contract_type_name": template.title,
        "contract_type_id": template.contract_type_id, "created_by_workspace": settings.workspace_id,
        "external_metadata": contract.external_metadata, "reference_id": f"SD-{contract.contract_id}",
    }  # fmt: skip
    if not listed:
        body["contract_id"] = contract.contract_id
    return body


def _party_errors(party: Any) -> dict[str, Any]:
    if not isinstance(party, dict):
        return {"non_field_errors": ["Expected a dictionary of items."]}
    errors: dict[str, Any] = {}
    if not isinstance(party.get("is_individual"), bool):
        errors["is_individual"] = ["Must be a valid boolean."]
    poc = party.get("poc_details")
    if not isinstance(poc, dict):
        errors["poc_details"] = ["This field is required."]
    else:
        poc_errors = {name: ["This field is required."] for name in ("first_name", "email")
                      if not isinstance(poc.get(name), str) or not poc[name].strip()}  # fmt: skip
        if "email" not in poc_errors and "@" not in poc["email"]:
            poc_errors["email"] = ["Enter a valid email address."]
        if poc_errors:
            errors["poc_details"] = poc_errors
    if party.get("is_individual") is False and not (isinstance(party.get("organization_name"), str)
                                                     and party["organization_name"].strip()):  # fmt: skip
        errors["organization_name"] = ["Required if is_individual is False."]
    return errors


def _structure_errors(body: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    template_id = body.get("contract_template_id")
    if isinstance(template_id, bool) or not isinstance(template_id, int):
        errors["contract_template_id"] = ["A valid integer is required."]
    if not isinstance(body.get("contract_data"), dict):
        errors["contract_data"] = ["Expected a dictionary of items."]
    parties = body.get("counter_party_details")
    if not isinstance(parties, list) or not parties:
        errors["counter_party_details"] = ["This list may not be empty."]
    else:
        per_party = [_party_errors(p) for p in parties]
        if any(per_party):
            errors["counter_party_details"] = per_party
    metadata = body.get("external_metadata")
    if metadata is not None and not (isinstance(metadata, dict) and isinstance(metadata.get("id"), (str, int))):
        errors["external_metadata"] = ["Expected an object with an id."]
    if body.get("contract_name") is not None and not isinstance(body.get("contract_name"), str):
        errors["contract_name"] = ["Not a valid string."]
    return errors


async def create_contract(request: Request) -> Response:
    _, state, sender = _sd(request)
    body = await _json_body(request)
    if body is _PARSE_ERROR or not isinstance(body, dict):
        return sd_error(400, "JSON parse error.", "parse_error")
    errors = _structure_errors(body)
    if errors:
        return sd_error(400, "Invalid input.", "invalid", **errors)
    template = state.templates.get(body["contract_template_id"])
    if template is None:
        return sd_error(404, "Contract template not found.", "not_found")
    problems = validate_data(template, body["contract_data"])
    if problems:
        log.info("sandbox.spotdraft_data_refused", template_id=template.template_id, fields=sorted(problems))
        return sd_error(400, "Invalid contract data.", "invalid", contract_data=problems)
    metadata = {k: v for k, v in (body.get("external_metadata") or {}).items() if k != "record_data"}
    contract = state.create(template, body["contract_data"], body["counter_party_details"], metadata,
                            body.get("contract_name"))  # fmt: skip
    sender.emit(contract, ["CONTRACT_CREATED"])
    log.info("sandbox.spotdraft_contract_created", composite_id=contract.composite_id, template_id=template.template_id)
    return JSONResponse(contract_json(request, contract), status_code=201)


async def by_external_metadata(request: Request) -> Response:
    _, state, _ = _sd(request)
    found = state.by_external_id(request.path_params["external_id"])
    return JSONResponse([contract_json(request, c, listed=True) for c in found])


async def send_to_counterparties(request: Request) -> Response:
    settings, state, sender = _sd(request)
    contract = _contract(request)
    if isinstance(contract, Response):
        return contract
    body = await _json_body(request)
    formats = body.get("attachment_formats") if isinstance(body, dict) else None
    if not isinstance(formats, list) or not formats or any(f not in ATTACHMENT_FORMATS for f in formats):
        return sd_error(400, "Invalid input.", "invalid",
                        attachment_formats=["At least one of DOCX, PDF, TEMPLATE is required."])  # fmt: skip
    try:
        activities = state.send(contract)
    except StateConflict as exc:
        return sd_error(402, str(exc), "invalid_contract_state")
    sender.emit(contract, activities)
    if settings.auto_sign_after_s is not None:
        sender.later(settings.auto_sign_after_s, lambda: control.auto_sign(state, sender, contract.contract_id))
    return Response(b"", status_code=200)


async def contract_status(request: Request) -> Response:
    contract = _contract(request)
    if isinstance(contract, Response):
        return contract
    return JSONResponse({"contract_status": contract.status, "contract_name": contract.name})


async def void_contract(request: Request) -> Response:
    _, state, sender = _sd(request)
    contract = _contract(request)
    if isinstance(contract, Response):
        return contract
    body = await _json_body(request)
    note = body.get("note") if isinstance(body, dict) else None
    if not isinstance(note, str) or not note.strip():
        return sd_error(400, "Invalid input.", "invalid", note=["This field is required."])
    try:
        activities = state.void(contract)
    except StateConflict as exc:
        return JSONResponse({"detail": str(exc)}, status_code=400)  # the published 400 body
    sender.emit(contract, activities)
    return Response(status_code=204)


async def key_pointers(request: Request) -> Response:
    _, state, _ = _sd(request)
    contract = _contract(request)
    if isinstance(contract, Response):
        return contract
    template = state.templates[contract.template_id]
    return JSONResponse([
        {"id": index, "value": kp.value(contract.data), "label": kp.label, "field_name": kp.field_name,
         "data_type": kp.data_type, "format_option": {}}
        for index, kp in enumerate(template.key_pointers, start=contract.contract_id * 100)
    ])  # fmt: skip


async def download_link(request: Request) -> Response:
    settings, state, _ = _sd(request)
    contract = _contract(request)
    if isinstance(contract, Response):
        return contract
    body = await _json_body(request) if await request.body() else {}
    fmt = body.get("format") if isinstance(body, dict) else "?"
    if fmt not in (None, "PDF", "DOCX_WITH_FALLBACK_TO_PDF"):
        return sd_error(400, "Only PDF downloads are available in the sandbox.", "invalid", format=["Not supported."])
    issued = state.now() - (settings.download_url_ttl_s + 1 if state.take("expired_links_next") else 0)
    url = request.app.state.documents.link(str(request.base_url), contract, issued, settings.download_url_ttl_s)
    name = f"{state.templates[contract.template_id].title} {contract.composite_id}.pdf"
    return JSONResponse({"url": url, "file_name": name, "current_version_id": contract.version})


async def hmac_key(request: Request) -> Response:
    settings, _, _ = _sd(request)
    return JSONResponse({"hmac_key": settings.hmac_key.get_secret_value()})


async def storage(request: Request) -> Response:
    _, state, _ = _sd(request)
    contract_id, version = request.path_params["contract_id"], request.path_params["version"]
    documents: Documents = request.app.state.documents
    problem = documents.check(contract_id, version, request.query_params.get("expires"),
                              request.query_params.get("signature"), state.now())  # fmt: skip
    contract = state.contracts.get(contract_id)
    if problem is None and (contract is None or version > contract.version):
        problem = "NoSuchKey"
    if problem is not None:
        status, body = storage_error(problem)
        return Response(body, status_code=status, media_type="application/xml")
    pdf = documents.pdf(contract, state.templates[contract.template_id], version)  # type: ignore[arg-type]
    return Response(pdf, media_type="application/pdf")


def create_app(
    settings: SpotDraftSandboxSettings | None = None,
    state: SdSandboxState | None = None,
    *,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    """The sandbox ASGI app. ``app.state.sd`` is the ``SdSandboxState``, ``app.state.sender`` the
    ``WebhookSender`` (``await sender.drain()`` waits for queued deliveries); ``webhook_transport`` replaces
    the network for webhook deliveries. Without a lifespan (``httpx.ASGITransport``), close the sender with
    ``await app.state.sender.aclose()``."""
    settings = settings or spotdraft_sandbox()
    state = state or SdSandboxState()
    state.rate_limit_per_s = settings.rate_limit_per_s
    state.limiter = RateLimiter(settings.rate_limit_per_s)
    sender = WebhookSender(settings, state, webhook_transport)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        log.info("sandbox.spotdraft_started", workspace_id=settings.workspace_id)
        try:
            yield
        finally:
            await sender.aclose()
            log.info("sandbox.spotdraft_stopped")

    routes = [
        Route(API + "/contracts/", create_contract, methods=["POST"]),
        Route(API + "/contracts/by_external_metadata/{external_id}", by_external_metadata, methods=["GET"]),
        Route(API + "/contracts/{composite_id}/send_to_counterparties", send_to_counterparties, methods=["POST"]),
        Route(API + "/contracts/{composite_id}/status", contract_status, methods=["GET"]),
        Route(API + "/contracts/{composite_id}/status/void", void_contract, methods=["POST"]),
        Route(API + "/contracts/{composite_id}/key_pointers", key_pointers, methods=["GET"]),
        Route(API + "/contracts/{composite_id}/download_link", download_link, methods=["POST"]),
        Route(API + "/webhooks/hmac_key/", hmac_key, methods=["GET"]),
        Route(STORAGE_ROUTE, storage, methods=["GET"]),
        *control.routes(),
    ]
    middleware = [Middleware(ApiGate, state=state, client_id=settings.client_id,
                             client_secret=settings.client_secret.get_secret_value())]  # fmt: skip
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.router.redirect_slashes = False  # the gate answers SpotDraft's 302s itself
    app.state.settings = settings
    app.state.sd = state
    app.state.sender = sender
    app.state.documents = Documents()
    return app
