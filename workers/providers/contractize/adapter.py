"""The Contractize adapter: ``ContractProvider`` over the Contractize-style REST API (seed 000).

* Authentication: OAuth 2.0 client credentials, form-encoded to ``POST /oauth/token`` with the
  configured (least-privilege) scopes. The token lives in a ``TokenCache`` shared by every job of the
  process; a 401 from an API call invalidates it and retries the call once with a fresh token.
* Every exchange has a total deadline, and the download is streamed, in ``contractize.http``.
* Errors are mapped onto the classes of ``providers.base``; their messages are written for an operator
  ("contract provider at 127.0.0.1:8091 unavailable: HTTP 503 on POST /v1/generate") and never quote a
  response body, a header, a query string, a token or a secret.
* The ``httpx.AsyncClient`` is injected (tests give it an ``httpx.MockTransport``); ``build_provider``
  makes the production one: audited transport, no transport-level retries (Zeebe owns retries), the
  configured timeouts and the process-wide token cache.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from workers.audit import AuditTransport
from workers.config import ProviderSettings
from workers.providers.answers import parse_retry_after, problem_fields
from workers.providers.answers import safe_text as _safe
from workers.providers.base import (
    Document,
    DocumentNotFound,
    GenerateRequest,
    ProviderAuthError,
    ProviderError,
    ProviderRejected,
    Template,
    TemplateField,
    TokenInfo,
)
from workers.providers.contractize.http import ContractizeHttp, _host_of
from workers.providers.tokens import CachedToken, TokenCache

PROVIDER_NAME = "contractize"
USER_AGENT = "contract-workers/0.1"
_FIELD_TYPES = {"string", "email", "date", "number", "boolean"}

# One cache per worker process: every provider built by ``build_provider`` shares it.
SHARED_TOKEN_CACHE = TokenCache()


class ContractizeProvider(ContractizeHttp):
    """``ContractProvider`` for the Contractize-style API. See the module docstring."""

    name = PROVIDER_NAME

    def __init__(
        self,
        settings: ProviderSettings,
        client: httpx.AsyncClient,
        token_cache: TokenCache | None = None,
        *,
        owns_client: bool = False,
    ) -> None:
        self.settings = settings
        self.client = client
        self.token_cache = token_cache or TokenCache(settings.token_refresh_margin_s)
        self._owns_client = owns_client
        self._base = settings.base_url.rstrip("/")
        self._host = _host_of(self._base)
        self._scopes = tuple(settings.scopes.split())
        self._timeout = settings.timeout_s
        # httpx's timeouts are per read: a server trickling a byte a second never trips them. Every
        # exchange is bounded in total as well, the (larger) download by its own bound.
        self._total = settings.total_timeout_s or settings.timeout_s
        self._download_total = settings.download_timeout_s
        # Tokens are per provider endpoint, client and scope set.
        self._token_key = (PROVIDER_NAME, self._base, settings.client_id, " ".join(sorted(self._scopes)))

    # --- lifecycle --------------------------------------------------------------------------------

    async def aclose(self) -> None:
        if self._owns_client:
            await self.client.aclose()

    # --- token ------------------------------------------------------------------------------------

    async def _fetch_token(self) -> tuple[str, float, tuple[str, ...]]:
        url = f"{self._base}/oauth/token"
        form = {
            "grant_type": "client_credentials",
            "client_id": self.settings.client_id,
            "client_secret": self.settings.client_secret.get_secret_value(),
        }
        if self._scopes:
            form["scope"] = " ".join(self._scopes)
        response = await self._send("POST", url, data=form, headers={"Accept": "application/json"})
        status = response.status_code
        if status in (400, 401, 403):
            raise ProviderAuthError(
                f"contract provider at {self._host} refused the client credentials "
                f"(HTTP {status}{self._oauth_code(response)} on POST /oauth/token); check CONTRACTIZE_CLIENT_ID, "
                "CONTRACTIZE_CLIENT_SECRET and CONTRACTIZE_SCOPES"
            )
        if status != 200:
            self._unexpected(response, "POST", url)
        body = self._json(response)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise self._bad_body("POST", url)
        token_type = str(body.get("token_type", "Bearer"))
        if token_type.lower() != "bearer":
            raise self._unavailable(f"unsupported token type {_safe(token_type, 20)!r} from POST /oauth/token")
        try:
            expires_in = float(body.get("expires_in", 3600))
        except (TypeError, ValueError):
            expires_in = 3600.0
        scope = body.get("scope")
        scopes = tuple(scope.split()) if isinstance(scope, str) and scope.strip() else self._scopes
        return token, expires_in, scopes

    async def _token(self) -> CachedToken:
        return await self.token_cache.get(
            self._token_key,
            self._fetch_token,
            refresh_margin_s=self.settings.token_refresh_margin_s,
            failure_ttl_s=self.settings.token_failure_ttl_s,
        )

    async def ensure_token(self) -> TokenInfo:
        token = await self._token()
        return TokenInfo(provider=PROVIDER_NAME, expires_at=token.expires_at, scopes=token.scopes)

    # --- API calls --------------------------------------------------------------------------------

    async def _api(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """One authenticated call; a 401 invalidates the token and the call is retried once."""
        url = f"{self._base}{path}"
        for attempt in (1, 2):
            token = await self._token()
            request_headers = {
                "Accept": "application/json",
                "Authorization": f"Bearer {token.access_token.get_secret_value()}",
                **(headers or {}),
            }
            response = await self._send(method, url, json=json, params=params, headers=request_headers)
            if response.status_code == 401:
                # Expired early, revoked or rotated: drop it (unless someone already has) and retry once.
                self.token_cache.invalidate(self._token_key, token)
                if attempt == 1:
                    continue
            return response
        raise AssertionError("unreachable")

    async def get_template(self, template_id: str) -> Template:
        path = f"/v1/templates/{quote(template_id, safe='')}"
        response = await self._api("GET", path)
        if response.status_code == 404:
            raise ProviderRejected(
                f"contract provider at {self._host} does not know template {_safe(template_id)!r} (HTTP 404)",
                fields=["template_id"],
            )
        if response.status_code != 200:
            self._unexpected(response, "GET", path)
        body = self._json(response)
        if not isinstance(body, dict) or not isinstance(body.get("fields"), list):
            raise self._bad_body("GET", path)
        fields = []
        for item in body["fields"]:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise self._bad_body("GET", path)
            ftype = item.get("type", "string")
            fields.append(
                TemplateField(
                    name=item["name"],
                    type=ftype if ftype in _FIELD_TYPES else "string",
                    required=bool(item.get("required", True)),
                )
            )
        return Template(
            template_id=str(body.get("template_id", template_id)),
            version=str(body.get("version", "")),
            fields=tuple(fields),
        )

    def _document(self, body: Any, method: str, path: str, template_id: str = "") -> Document:
        if not isinstance(body, dict) or not isinstance(body.get("doc_id"), str) or not body["doc_id"]:
            raise self._bad_body(method, path)
        metadata = body.get("metadata") or {}
        if not isinstance(metadata, dict):
            metadata = {}
        download_url = body.get("download_url")
        return Document(
            doc_id=body["doc_id"],
            status=str(body.get("status", "processing")),  # type: ignore[arg-type]
            template_id=str(body.get("template_id") or template_id),
            metadata={str(k): str(v) for k, v in metadata.items() if v is not None},
            download_url=download_url if isinstance(download_url, str) and download_url else None,
        )

    async def find_by_idempotency_key(self, key: str) -> Document | None:
        path = "/v1/documents"
        response = await self._api("GET", path, params={"idempotency_key": key})
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            self._unexpected(response, "GET", path)
        body = self._json(response)
        documents = body.get("documents") if isinstance(body, dict) else None
        if not isinstance(documents, list):
            raise self._bad_body("GET", path)
        if not documents:
            return None
        return self._document(documents[0], "GET", path)

    def _validation_message(self, response: httpx.Response, template_id: str) -> tuple[str, list[str]]:
        """Field names only: a provider's free-text "problem" can quote the rejected value (a name)."""
        names, unnamed = problem_fields(self._json(response))
        detail = ", ".join(names) if names else "no field names given"
        if unnamed:
            detail += f" (and {unnamed} problem(s) without a usable field name)"
        return (
            f"contract provider at {self._host} rejected the data for template {_safe(template_id)!r} "
            f"(HTTP 422); fields: {detail}",
            names,
        )

    async def generate(self, request: GenerateRequest) -> Document:
        path = "/v1/generate"
        body = {
            "template_id": request.template_id,
            "data": request.data,
            "callback_url": request.callback_url,
            "metadata": request.metadata,
        }
        headers = {"Idempotency-Key": request.idempotency_key} if request.idempotency_key else None
        response = await self._api("POST", path, json=body, headers=headers)
        status = response.status_code
        if status in (200, 201, 202):
            return self._document(self._json(response), "POST", path, request.template_id)
        if status == 422:
            message, fields = self._validation_message(response, request.template_id)
            raise ProviderRejected(message, fields=fields)
        if status == 404:
            raise ProviderRejected(
                f"contract provider at {self._host} does not know template {_safe(request.template_id)!r} "
                "(HTTP 404 on POST /v1/generate)",
                fields=["template_id"],
            )
        if status == 409:
            raise ProviderRejected(
                f"contract provider at {self._host} refused POST /v1/generate (HTTP 409): idempotency key "
                f"{_safe(request.idempotency_key, 255)!r} was already used with a different request body"
            )
        if status == 400:
            raise ProviderRejected(
                f"contract provider at {self._host} refused POST /v1/generate as malformed (HTTP 400)"
            )
        self._unexpected(response, "POST", path)

    async def get_document(self, doc_id: str) -> Document:
        path = f"/v1/documents/{quote(doc_id, safe='')}"
        response = await self._api("GET", path)
        if response.status_code == 404:
            raise DocumentNotFound(f"contract provider at {self._host} has no document {_safe(doc_id)!r}")
        if response.status_code != 200:
            self._unexpected(response, "GET", path)
        return self._document(self._json(response), "GET", "/v1/documents/{doc_id}")

def build_provider(
    settings: ProviderSettings | None = None, *, token_cache: TokenCache | None = None
) -> ContractizeProvider:
    """The production provider: audited HTTP transport without transport retries, timeouts from
    ``settings``, and the process-wide token cache. Close it with ``await provider.aclose()``."""
    if settings is None:
        from workers import config

        settings = config.provider()
    transport = AuditTransport(httpx.AsyncHTTPTransport(retries=0), component=PROVIDER_NAME)
    client = httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(settings.timeout_s),
        follow_redirects=False,
        # Environment proxies would be mounted as separate transports and bypass the audit log.
        trust_env=False,
        headers={"User-Agent": USER_AGENT},
    )
    return ContractizeProvider(settings, client, token_cache or SHARED_TOKEN_CACHE, owns_client=True)


__all__ = [
    "ContractizeProvider",
    "ProviderError",
    "SHARED_TOKEN_CACHE",
    "build_provider",
    "parse_retry_after",
]
