"""SpotDraftClient against the SpotDraft sandbox (``workers.sandbox.spotdraft``), in process via
``httpx.ASGITransport``: the idempotent create, the lifecycle, the errors as the sandbox produces them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from workers.bridge.sources import Publish
from workers.providers.base import (
    DocumentNotFound,
    ProviderAuthError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from workers.providers.spotdraft import ContractStateInvalid, SpotDraftClient, TemplateNotFound
from workers.providers.spotdraft.settings import SpotDraftSandboxSettings
from workers.providers.spotdraft.webhooks import SpotDraftSource, SpotDraftVerifier
from workers.sandbox.spotdraft import SdSandboxState, create_app

from .support import DATA, request, settings

SANDBOX = SpotDraftSandboxSettings(webhook_url="http://bridge.test/webhooks/spotdraft", rate_limit_per_s=1000)


class Clock:
    def __init__(self) -> None:
        self.now = 1_795_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class World:
    client: SpotDraftClient
    control: httpx.AsyncClient
    state: SdSandboxState
    webhooks: list[httpx.Request]


@pytest.fixture
async def world() -> AsyncIterator[World]:
    received: list[httpx.Request] = []

    async def bridge(req: httpx.Request) -> httpx.Response:
        await req.aread()
        received.append(req)
        return httpx.Response(202)

    state = SdSandboxState(clock=Clock())
    state.webhook_retry_base_s = 0.0
    app = create_app(SANDBOX, state, webhook_transport=httpx.MockTransport(bridge))
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app):
        client = SpotDraftClient(settings(base_url="https://sd.test/api", client_id=SANDBOX.client_id,
                                          client_secret=SANDBOX.client_secret), transport=transport)  # fmt: skip
        async with httpx.AsyncClient(transport=transport, base_url="https://sd.test") as control:
            yield World(client, control, state, received)
        await client.aclose()


async def test_round_trip(world: World) -> None:
    client = world.client
    assert await client.find_by_external_id("deal-1042") is None
    contract = await client.create_contract(request())
    assert (contract.composite_id, contract.contract_id, contract.status) == ("T-5001", 5001, "DRAFT")
    again = await client.find_by_external_id("deal-1042")  # what a retried job finds instead of creating
    assert again == contract
    await client.send_to_counterparties(contract.composite_id)
    assert (await client.get_status(contract.composite_id)).status == "REDLINING"
    signed = await world.control.post(f"/_sandbox/contracts/{contract.composite_id}/sign")
    assert signed.json()["status"] == "EXECUTED"
    status = await client.get_status(contract.composite_id)
    assert status.executed and status.name == "Master Services Agreement"
    pointers = {p.field_name: p for p in await client.key_pointers(contract.composite_id)}
    assert pointers["contract_value"].value == DATA["contract_value"] and pointers["renewal_date"].value == "2027-12-01"
    pdf = b"".join([chunk async for chunk in client.download(contract.composite_id)])
    assert pdf.startswith(b"%PDF") and pdf.rstrip().endswith(b"%%EOF")
    key = await client.get_hmac_key()
    source = SpotDraftSource(SpotDraftVerifier.from_keys(key))
    outcomes = []
    for delivery in world.webhooks:
        source.verifier.verify(delivery.content, delivery.headers, 300)
        outcomes.append(source.translate(delivery.content, None))
    [executed] = [o for o in outcomes if isinstance(o, Publish)]
    assert (executed.name, executed.correlation_key) == ("contract-executed", str(contract.contract_id))


async def test_errors_as_the_sandbox_produces_them(world: World) -> None:
    client = world.client
    with pytest.raises(TemplateNotFound):
        await client.create_contract(request(template_id=999))
    bad = dict(DATA, term="12 months", shoe_size=42)
    with pytest.raises(ProviderRejected) as err:
        await client.create_contract(request(contract_data=bad))
    assert err.value.fields == ["contract_data.shoe_size", "contract_data.term"]
    assert "12 months" not in str(err.value)
    contract = await client.create_contract(request())
    await client.send_to_counterparties(contract.composite_id)
    await world.control.post(f"/_sandbox/contracts/{contract.composite_id}/sign")
    with pytest.raises(ContractStateInvalid):
        await client.send_to_counterparties(contract.composite_id)
    with pytest.raises(DocumentNotFound):
        await client.get_status("T-9999")
    await world.control.post("/_sandbox/faults", json={"rate_limit_next": 1})
    with pytest.raises(ProviderRateLimited) as limited:
        await client.get_status(contract.composite_id)
    assert limited.value.retry_after == 1
    await world.control.post("/_sandbox/faults", json={"fail_next": 1})
    with pytest.raises(ProviderUnavailable):
        await client.get_status(contract.composite_id)
    await world.control.post("/_sandbox/faults", json={"unauthorized": True})
    with pytest.raises(ProviderAuthError):
        await client.get_status(contract.composite_id)


async def test_a_voided_contract_does_not_block_a_new_one(world: World) -> None:
    first = await world.client.create_contract(request())
    voided = await world.control.post(f"/api/v2.1/public/contracts/{first.composite_id}/status/void",
                                      json={"note": "wrong price"},
                                      headers={"client-id": SANDBOX.client_id,
                                               "client-secret": SANDBOX.client_secret.get_secret_value()})  # fmt: skip
    assert voided.status_code == 204
    assert await world.client.find_by_external_id("deal-1042") is None
    second = await world.client.create_contract(request())
    assert (await world.client.find_by_external_id("deal-1042")) == second


async def test_an_expired_link_is_renewed(world: World) -> None:
    contract = await world.client.create_contract(request())
    await world.control.post("/_sandbox/faults", json={"expired_links_next": 1})
    pdf = b"".join([chunk async for chunk in world.client.download(contract.composite_id)])
    assert pdf.startswith(b"%PDF")
    storage = world.state.requests["GET /_storage/contracts/{id}/v{version}.pdf"]
    assert storage == {"400": 1, "200": 1}
    assert world.state.requests["POST /api/v2.1/public/contracts/{composite_id}/download_link"] == {"200": 2}
