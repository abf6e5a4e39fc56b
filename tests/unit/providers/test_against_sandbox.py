"""The adapter against the sandbox simulator (``workers.sandbox``), in process via ``ASGITransport``."""

from __future__ import annotations

import httpx
import pytest

from workers.config import SandboxSettings
from workers.providers.base import GenerateRequest, ProviderRejected
from workers.providers.contractize import ContractizeProvider
from workers.providers.tokens import TokenCache

from workers.sandbox import app as sandbox_app

from .support import settings

BASE = "http://sandbox.test"


@pytest.fixture
async def provider():
    def webhook_sink(request: httpx.Request) -> httpx.Response:
        return httpx.Response(204)

    sandbox = SandboxSettings(
        client_id="cw-client", client_secret="very-secret-client-value-42", webhook_delay_s=0.0
    )
    app = sandbox_app.create_app(sandbox, webhook_transport=httpx.MockTransport(webhook_sink))
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
    async with app.router.lifespan_context(app):
        yield ContractizeProvider(settings(base_url=BASE), client, TokenCache()), app
    await client.aclose()


async def test_round_trip(provider) -> None:
    provider, app = provider
    info = await provider.ensure_token()
    assert set(info.scopes) == {"generate:nda-001", "documents:read"}
    template = await provider.get_template("nda-001")
    values = {
        "employee_name": "Ada Lovelace",
        "employee_email": "ada@example.com",
        "start_date": "2025-01-01",
        "confidentiality_level": "high",
    }
    data = {k: v for k, v in values.items() if k in template.field_names()}
    request = GenerateRequest("nda-001", data, "http://bridge.test/cb", {"request_id": "r-1"}, "cw-1-nda-001")
    doc = await provider.generate(request)
    assert (await provider.find_by_idempotency_key("cw-1-nda-001")).doc_id == doc.doc_id
    await app.state.dispatcher.idle(timeout=5)
    ready = await provider.get_document(doc.doc_id)
    assert ready.status == "ready"
    pdf = b"".join([c async for c in provider.download(doc.doc_id)])
    assert pdf.startswith(b"%PDF")


async def test_validation_failure_names_fields(provider) -> None:
    provider, _ = provider
    request = GenerateRequest("nda-001", {}, "http://bridge.test/cb", {}, "cw-2-nda-001")
    with pytest.raises(ProviderRejected) as err:
        await provider.generate(request)
    assert "employee_name" in err.value.fields
