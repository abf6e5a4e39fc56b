"""Conformance: every sandbox answer the adapter relies on, every request the adapter sends and every webhook
body the sandbox delivers validate against the published schemas kept in ``openapi-trimmed.json``
(``jsonschema``); and the sandbox serves exactly the published paths of that document."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

import workers.providers.spotdraft as package
from workers.providers.spotdraft import SpotDraftClient
from workers.providers.spotdraft.settings import SpotDraftSandboxSettings
from workers.sandbox.spotdraft import SdSandboxState, create_app
from workers.sandbox.spotdraft.gate import route_of

from .support import request, settings

DOC = json.loads((Path(package.__file__).parent / "openapi-trimmed.json").read_text())
SANDBOX = SpotDraftSandboxSettings(webhook_url="http://bridge.test/webhooks/spotdraft", rate_limit_per_s=1000)
AUTH = {"client-id": SANDBOX.client_id, "client-secret": SANDBOX.client_secret.get_secret_value()}
API = "/api/v2.1/public"


def validate(instance: Any, schema: dict[str, Any]) -> None:
    """Validate against a schema of the document (its ``$ref``s resolve inside the document)."""
    Draft202012Validator({**schema, "components": DOC["components"]}).validate(instance)


def response_schema(path: str, method: str, status: str) -> dict[str, Any]:
    return DOC["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]


def request_schema(path: str, method: str) -> dict[str, Any]:
    return DOC["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]


def schema(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


class Recording(httpx.AsyncBaseTransport):
    """Delegates to the sandbox and keeps every exchange (the adapter's requests, the sandbox's answers)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.exchanges: list[tuple[httpx.Request, httpx.Response]] = []

    async def handle_async_request(self, req: httpx.Request) -> httpx.Response:
        await req.aread()
        response = await self.inner.handle_async_request(req)
        body = await response.aread()
        self.exchanges.append((req, httpx.Response(response.status_code, headers=response.headers, content=body)))
        return httpx.Response(response.status_code, headers=response.headers, content=body)

    def answers(self, method: str, template: str) -> list[tuple[httpx.Request, httpx.Response]]:
        pattern = re.compile(re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(template)))
        return [(q, a) for q, a in self.exchanges if q.method == method and pattern.fullmatch(q.url.path)]


@pytest.fixture
async def run() -> AsyncIterator[tuple[Recording, list[bytes]]]:
    """A full lifecycle through the adapter (create, look-up, send, status, key pointers, sign, download, key)
    plus a declined and a voided contract, recorded."""
    webhooks: list[bytes] = []

    async def bridge(req: httpx.Request) -> httpx.Response:
        webhooks.append(await req.aread())
        return httpx.Response(200)

    state = SdSandboxState()
    state.webhook_retry_base_s = 0.0
    app = create_app(SANDBOX, state, webhook_transport=httpx.MockTransport(bridge))
    recording = Recording(httpx.ASGITransport(app=app))
    async with app.router.lifespan_context(app):
        client = SpotDraftClient(settings(base_url="https://sd.test/api", client_id=SANDBOX.client_id,
                                          client_secret=SANDBOX.client_secret), transport=recording)  # fmt: skip
        control = httpx.AsyncClient(transport=recording, base_url="https://sd.test")
        contract = await client.create_contract(request())
        await client.find_by_external_id("deal-1042")
        await client.send_to_counterparties(contract.composite_id)
        await client.get_status(contract.composite_id)
        await client.key_pointers(contract.composite_id)
        await control.post(f"/_sandbox/contracts/{contract.composite_id}/sign")
        b"".join([chunk async for chunk in client.download(contract.composite_id)])
        await client.get_hmac_key()
        declined = await client.create_contract(request("deal-2", contract_name="Second"))
        await client.send_to_counterparties(declined.composite_id)
        await control.post(f"/_sandbox/contracts/{declined.composite_id}/decline")
        await control.post(f"{API}/contracts/{declined.composite_id}/status/void", json={"note": "n"}, headers=AUTH)
        await control.post(f"{API}/contracts/{contract.composite_id}/status/void", json={"note": "n"}, headers=AUTH)
        for bad in ({"contract_template_id": "x"}, {"contract_template_id": 999, "contract_data": {},
                                                     "counter_party_details": [{}]}):  # fmt: skip
            await control.post(f"{API}/contracts/", json=bad, headers=AUTH)
        await control.post(f"{API}/contracts/{contract.composite_id}/send_to_counterparties",
                           json={"attachment_formats": ["PDF"]}, headers=AUTH)  # fmt: skip
        await control.get(f"{API}/webhooks/hmac_key/")
        await control.get(f"{API}/contracts/T-9999/status", headers=AUTH)
        await app.state.sender.settle()
        await control.aclose()
        await client.aclose()
    yield recording, webhooks


def test_the_trimmed_document_names_its_source() -> None:
    source = DOC["info"]["x-source"]
    assert source["published_at"].startswith("https://api.spotdraft.com/api/docs/")
    assert re.search(r"/blob/[0-9a-f]{40}/", source["copied_from"])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", source["retrieved"])
    Draft202012Validator.check_schema({"components": DOC["components"]})


def test_the_sandbox_serves_the_published_paths() -> None:
    for path, operations in DOC["paths"].items():
        if path == "/api/v1/public/webhook-sample/":
            continue  # published as "does not exist": the webhook body's schema only
        for method in operations:
            concrete = re.sub(r"\{[a-z_]+\}", "T-1", path).replace("/T-1", "/deal-1", 1) \
                if "by_external_metadata" in path else re.sub(r"\{[a-z_]+\}", "T-1", path)  # fmt: skip
            assert route_of(method.upper(), concrete) is not None, (method, path)


async def test_sandbox_answers_match_the_published_schemas(run: tuple[Recording, list[bytes]]) -> None:
    recording, _ = run
    checks = [
        ("POST", f"{API}/contracts/", "201"),
        ("GET", f"{API}/contracts/by_external_metadata/{{external_metadata_id}}", "200"),
        ("GET", f"{API}/contracts/{{composite_id}}/status", "200"),
        ("GET", f"{API}/contracts/{{composite_id}}/key_pointers", "200"),
        ("POST", f"{API}/contracts/{{composite_id}}/download_link", "200"),
        ("GET", f"{API}/webhooks/hmac_key/", "200"),
        ("POST", f"{API}/contracts/{{composite_id}}/status/void", "400"),
    ]
    for method, path, status in checks:
        exchanges = [(q, a) for q, a in recording.answers(method, path) if str(a.status_code) == status]
        assert exchanges, (method, path, status)
        for _, answer in exchanges:
            validate(answer.json(), response_schema(path, method.lower(), status))
    for method, path, status in (("POST", f"{API}/contracts/{{composite_id}}/send_to_counterparties", 200),
                                 ("POST", f"{API}/contracts/{{composite_id}}/status/void", 204)):  # fmt: skip
        assert status in [a.status_code for _, a in recording.answers(method, path)]


async def test_error_bodies_match_the_published_error_schema(run: tuple[Recording, list[bytes]]) -> None:
    recording, _ = run
    errors = [a for _, a in recording.exchanges if a.status_code >= 400]
    statuses = {a.status_code for a in errors}
    assert {400, 401, 402, 404} <= statuses
    for answer in errors:
        if answer.headers.get("content-type", "").startswith("application/json"):
            validate(answer.json(), schema("ErrorBody"))
            assert set(answer.json()) >= {"detail"}


async def test_adapter_requests_match_the_published_schemas(run: tuple[Recording, list[bytes]]) -> None:
    recording, _ = run
    paths = (f"{API}/contracts/", f"{API}/contracts/{{composite_id}}/send_to_counterparties",
             f"{API}/contracts/{{composite_id}}/download_link")  # fmt: skip
    for path in paths:
        method = "POST"
        sent = [q for q, _ in recording.answers(method, path)
                if q.headers.get("user-agent", "").startswith("contract-workers")]  # fmt: skip
        assert sent, path
        for req in sent:
            validate(json.loads(req.content), request_schema(path, method.lower()))
            assert req.headers["client-id"] and req.headers["client-secret"]


async def test_webhook_bodies_match_the_published_schema(run: tuple[Recording, list[bytes]]) -> None:
    _, webhooks = run
    activities = set()
    for body in webhooks:
        event = json.loads(body)
        validate(event, schema("ContractActivityDomainModel"))
        activities.add(event["activity"])
    assert activities == {
        "CONTRACT_CREATED", "CONTRACT_SENT_TO_COUNTERPARTY", "CONTRACT_SIGNATURE_REQUESTED", "CONTRACT_SIGNED",
        "CONTRACT_EXECUTED", "CONTRACT_SIGNATURE_DECLINED", "CONTRACT_VOIDED",
    }  # fmt: skip
