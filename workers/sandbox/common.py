"""What the sandbox's routes share: constants, the error shape, request helpers (bearer token, scopes,
the document view).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse

from workers.config import SandboxSettings
if TYPE_CHECKING:
    from workers.sandbox.dispatch import WebhookDispatcher

from workers.sandbox.state import DocumentRecord, SandboxState, TokenRecord



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
