"""``POST /oauth/token``: OAuth 2.0 client credentials (form body or HTTP Basic client auth) with scopes.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from urllib.parse import parse_qsl, unquote_plus

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from workers.sandbox.templates import validate
from workers.sandbox.common import SCOPE_DOCUMENTS_READ, SCOPE_GENERATE_ANY, _error, _sandbox

log = structlog.get_logger(__name__)


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
