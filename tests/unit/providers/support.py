"""A scriptable fake of the Contractize API for ``httpx.MockTransport`` (no patching anywhere)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx
from pydantic import SecretStr

from workers.config import ProviderSettings
from workers.providers.contractize import ContractizeProvider
from workers.providers.tokens import TokenCache

BASE = "https://provider.test"
CLIENT_ID = "cw-client"
CLIENT_SECRET = "very-secret-client-value-42"
SCOPES = "generate:nda-001 documents:read"
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 64 + b"\n%%EOF\n"


def settings(**overrides: Any) -> ProviderSettings:
    values: dict[str, Any] = dict(
        base_url=BASE,
        client_id=CLIENT_ID,
        client_secret=SecretStr(CLIENT_SECRET),
        scopes=SCOPES,
        timeout_s=10.0,
        token_refresh_margin_s=30.0,
    )
    values.update(overrides)
    return ProviderSettings(**values)


Handler = Callable[[httpx.Request], httpx.Response | None]


@dataclass
class FakeApi:
    """Issues tokens ``tok-1``, ``tok-2``...; answers API calls from ``routes`` (first match wins) or
    with sensible defaults. ``reject_tokens`` are answered with 401."""

    expires_in: int = 3600
    token_delay_s: float = 0.0
    token_status: int = 200
    reject_tokens: set[str] = field(default_factory=set)
    routes: list[tuple[str, str, Handler]] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    token_forms: list[dict[str, list[str]]] = field(default_factory=list)
    issued: int = 0

    def route(self, method: str, path: str, handler: Handler) -> None:
        self.routes.insert(0, (method, path, handler))

    def calls(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path == path]

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path == "/oauth/token":
            self.token_forms.append(parse_qs(request.content.decode()))
            if self.token_delay_s:
                await asyncio.sleep(self.token_delay_s)
            if self.token_status != 200:
                return httpx.Response(self.token_status, json={"error": "invalid_client"})
            self.issued += 1
            return httpx.Response(
                200,
                json={
                    "access_token": f"tok-{self.issued}",
                    "token_type": "Bearer",
                    "expires_in": self.expires_in,
                    "scope": SCOPES,
                },
            )
        if "/download" not in path:
            auth = request.headers.get("authorization", "")
            if not auth.startswith("Bearer ") or auth.removeprefix("Bearer ") in self.reject_tokens:
                return httpx.Response(401, json={"error": "invalid_token"})
        for method, route_path, handler in self.routes:
            if method == request.method and route_path == path:
                answer = handler(request)
                if answer is not None:
                    return answer
        return self.default(request)

    def default(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "POST" and path == "/v1/generate":
            return httpx.Response(202, json={"doc_id": "doc_1", "status": "processing", "download_url": None})
        if path == "/v1/documents/doc_1":
            return httpx.Response(200, json=document("doc_1"))
        if path == "/v1/documents/doc_1/download":
            return httpx.Response(200, content=PDF, headers={"content-type": "application/pdf"})
        if path == "/v1/documents":
            return httpx.Response(200, json={"documents": []})
        return httpx.Response(404, json={"error": "not_found"})


def document(doc_id: str, status: str = "ready", **extra: Any) -> dict[str, Any]:
    body = {
        "doc_id": doc_id,
        "status": status,
        "template_id": "nda-001",
        "template_version": "3",
        "metadata": {"request_id": "r-1"},
        "created_at": "2025-01-01T00:00:00+00:00",
        "download_url": f"{BASE}/v1/documents/{doc_id}/download?expires=99&signature=SIGNATURE-SECRET"
        if status == "ready"
        else None,
    }
    body.update(extra)
    return body


def json_body(request: httpx.Request) -> Any:
    return json.loads(request.content)


def make_provider(
    api: FakeApi | Callable[..., Any], cache: TokenCache | None = None, **overrides: Any
) -> ContractizeProvider:
    client = httpx.AsyncClient(transport=httpx.MockTransport(api))
    return ContractizeProvider(settings(**overrides), client, cache or TokenCache())
