"""A scriptable fake of SpotDraft's API for ``httpx.MockTransport`` (no patching anywhere), and helpers."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import SecretStr

from workers.providers.spotdraft.adapter import SpotDraftClient
from workers.providers.spotdraft.models import Counterparty, CreateContract
from workers.providers.spotdraft.settings import SpotDraftSettings

BASE = "https://api.us.spotdraft.test/api"
API = BASE + "/v2.1/public"
CLIENT_ID = "sd-client-id-42"
CLIENT_SECRET = "sd-client-secret-very-private-42"
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 16 + b"\n%%EOF\n"
PERSON = Counterparty(False, "Ada", "Lovelace", "ada.lovelace@example.com", "Analytical Engines Ltd")
DATA = {
    "customer_name": "Analytical Engines Ltd",
    "effective_date": "2026-12-01",
    "contract_value": {"type": "USD", "value": 12000},
    "term": {"type": "MONTHS", "value": 12},
}


def settings(**overrides: Any) -> SpotDraftSettings:
    values: dict[str, Any] = dict(
        base_url=BASE, client_id=CLIENT_ID, client_secret=SecretStr(CLIENT_SECRET), timeout_s=5.0,
        total_timeout_s=5.0, download_timeout_s=5.0,
    )  # fmt: skip
    values.update(overrides)
    return SpotDraftSettings(**values)


def request(external_id: str = "deal-1042", **overrides: Any) -> CreateContract:
    values: dict[str, Any] = dict(template_id=101, contract_data=dict(DATA), counterparties=[PERSON],
                                  external_id=external_id, contract_name=None)  # fmt: skip
    values.update(overrides)
    return CreateContract(**values)


def created(composite: str = "T-1234", status: str = "DRAFT", **extra: Any) -> dict[str, Any]:
    contract_id = int(composite[2:])
    return {
        "id": composite, "contract_id": contract_id, "created": "2026-11-23T10:00:00Z",
        "contract_name": "Master Services Agreement",
        "contract_link": f"https://app.spotdraft.com/contracts/v2/{contract_id}", "contract_status": status,
        "created_by": "integration@example.com", "counter_party_name": "Analytical Engines Ltd",
        "contract_type_name": "MSA", "contract_type_id": 11, "created_by_workspace": 1, "external_metadata": {},
        "reference_id": f"SD-{contract_id}", **extra,
    }  # fmt: skip


def listed(contract_id: int, status: str = "DRAFT", created_at: str = "2026-11-23T10:00:00Z",
           **metadata: Any) -> dict[str, Any]:  # fmt: skip
    item = created(f"T-{contract_id}", status)
    item.pop("contract_id")
    item["id"] = contract_id
    item["created"] = created_at
    item["external_metadata"] = {"id": "deal-1042", "integration_name": "contract-workers", **metadata}
    return item


Handler = Callable[[httpx.Request], Any]


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body).encode(),
                          headers={"content-type": "application/json", **(headers or {})})  # fmt: skip


@dataclass
class FakeSpotDraft:
    """Answers from ``routes`` ((method, path) -> handler or response; the last registration wins), else
    404. Every request is recorded."""

    routes: dict[tuple[str, str], Handler | httpx.Response] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)

    def on(self, method: str, path: str, answer: Handler | httpx.Response | list[httpx.Response]) -> None:
        if isinstance(answer, list):
            queue = list(answer)
            self.routes[(method, path)] = lambda _r: queue.pop(0) if len(queue) > 1 else queue[0]
        else:
            self.routes[(method, path)] = answer

    async def handle(self, req: httpx.Request) -> httpx.Response:
        await req.aread()
        self.requests.append(req)
        answer = self.routes.get((req.method, req.url.path))
        if answer is None:
            return json_response(404, {"detail": "Not found.", "status_code": 404, "code": "not_found"})
        if not callable(answer):
            return answer
        result = answer(req)
        return await result if inspect.isawaitable(result) else result

    def client(self, **overrides: Any) -> SpotDraftClient:
        return SpotDraftClient(settings(**overrides), transport=httpx.MockTransport(self.handle))

    def calls(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path == path]


P = "/api/v2.1/public"  # path prefix of the fake's routes
