"""The contract lifecycle in the SpotDraft sandbox: DRAFT -> REDLINING (send) -> SIGN -> EXECUTED (the
counterparty signs), or back to DRAFT (declined), or VOIDED; 402 where the workflow state forbids an action;
each transition's webhooks, signed so that the adapter's verifier accepts them."""

from __future__ import annotations

import io
import json

import httpx
import pytest
from pypdf import PdfReader

from workers.bridge.sources import Ignore, Publish
from workers.providers.spotdraft.webhooks import SpotDraftSource, parse_event
from workers.sandbox.spotdraft import SdSandboxState, create_app
from workers.sandbox.spotdraft.control import auto_sign

from .support import API, AUTH, BASE, SETTINGS, VERIFIER, Bridge, FrozenClock, Sandbox, create_body


async def test_send_sign_execute(sd: Sandbox) -> None:
    await sd.create()
    assert (await sd.send("T-5001")).status_code == 200
    await sd.settle()
    assert sd.state.contracts[5001].status == "REDLINING"
    answer = await sd.client.post("/_sandbox/contracts/T-5001/sign")
    assert answer.status_code == 200
    body = answer.json()
    assert (body["compositeId"], body["contractId"], body["status"]) == ("T-5001", 5001, "EXECUTED")
    assert [(e["activity"], e["status"]) for e in body["events"]] == [
        ("CONTRACT_SIGNATURE_REQUESTED", "SIGN"), ("CONTRACT_SIGNED", "SIGN"), ("CONTRACT_EXECUTED", "EXECUTED")]
    assert all(e["deliveries"][0]["status"] == 200 for e in body["events"])
    assert sd.bridge.activities() == [
        "CONTRACT_CREATED", "CONTRACT_SENT_TO_COUNTERPARTY", "CONTRACT_SIGNATURE_REQUESTED", "CONTRACT_SIGNED",
        "CONTRACT_EXECUTED",
    ]  # fmt: skip
    status = await sd.client.get(f"{API}/contracts/T-5001/status", headers=AUTH)
    assert status.json()["contract_status"] == "EXECUTED"
    link = (await sd.client.post(f"{API}/contracts/T-5001/download_link", json={}, headers=AUTH)).json()
    assert link["current_version_id"] == 2
    pdf = (await sd.client.get(link["url"])).content
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "(executed)" in text and "Executed: signed by the counterparty" in text


async def test_every_webhook_verifies_and_only_the_ends_are_published(sd: Sandbox) -> None:
    await sd.create()
    await sd.send("T-5001")
    await sd.client.post("/_sandbox/contracts/T-5001/sign")
    source = SpotDraftSource(VERIFIER)
    published = []
    for request in sd.bridge.received:
        assert str(request.url) == SETTINGS.webhook_url and request.headers["content-type"] == "application/json"
        VERIFIER.verify(request.content, request.headers, 300)
        outcome = source.translate(request.content, None)
        if isinstance(outcome, Publish):
            published.append(outcome)
        else:
            assert isinstance(outcome, Ignore)
    [executed] = published
    assert (executed.name, executed.correlation_key) == ("contract-executed", "5001")
    last = json.loads(sd.bridge.received[-1].content)
    assert last["contract_id"] == 5001 and last["activity_data"]["performed_by"] == {"name": "SYSTEM"}
    assert last["external_metadata"]["id"] == "deal-1"


async def test_decline_returns_the_contract_to_draft(sd: Sandbox) -> None:
    await sd.create()
    await sd.send("T-5001")
    answer = (await sd.client.post("/_sandbox/contracts/T-5001/decline")).json()
    assert answer["status"] == "DRAFT"
    assert [(e["activity"], e["status"]) for e in answer["events"]] == [("CONTRACT_SIGNATURE_DECLINED", "DRAFT")]
    declined = sd.bridge.received[-1]
    published = SpotDraftSource(VERIFIER).translate(declined.content, None)
    assert isinstance(published, Publish) and published.name == "contract-declined"
    assert json.loads(declined.content)["activity_data"]["performed_by"]["email"] == "ada@example.com"
    assert (await sd.send("T-5001")).status_code == 200  # a declined draft can be sent again


async def test_void(sd: Sandbox) -> None:
    await sd.create()
    assert (await sd.client.post(f"{API}/contracts/T-5001/status/void", json={}, headers=AUTH)).status_code == 400
    voided = await sd.client.post(f"{API}/contracts/T-5001/status/void", json={"note": "duplicate"}, headers=AUTH)
    assert voided.status_code == 204
    await sd.settle()
    assert sd.bridge.activities()[-1] == "CONTRACT_VOIDED"
    published = SpotDraftSource(VERIFIER).translate(sd.bridge.received[-1].content, None)
    assert isinstance(published, Publish) and published.name == "contract-voided"
    assert published.variables["contractStatus"] == "VOIDED"
    again = await sd.client.post(f"{API}/contracts/T-5001/status/void", json={"note": "x"}, headers=AUTH)
    assert again.status_code == 400


async def test_the_workflow_state_decides(sd: Sandbox) -> None:
    await sd.create()
    assert (await sd.client.post("/_sandbox/contracts/T-5001/sign")).status_code == 409  # not sent yet
    assert (await sd.client.post("/_sandbox/contracts/T-5001/decline")).status_code == 409
    assert (await sd.send("T-5001")).status_code == 200
    assert (await sd.send("T-5001")).status_code == 200  # a re-send while redlining
    await sd.client.post("/_sandbox/contracts/T-5001/sign")
    refused = await sd.send("T-5001")
    assert refused.status_code == 402 and refused.json()["code"] == "invalid_contract_state"
    executed_void = await sd.client.post(f"{API}/contracts/T-5001/status/void", json={"note": "x"}, headers=AUTH)
    assert executed_void.status_code == 400 and executed_void.json() == {"detail": "Cannot void an executed contract."}
    assert (await sd.client.post("/_sandbox/contracts/T-9/sign")).status_code == 404
    assert (await sd.send("T-9")).status_code == 404
    bad = await sd.client.post(f"{API}/contracts/T-5001/send_to_counterparties", json={"attachment_formats": []},
                               headers=AUTH)  # fmt: skip
    assert bad.status_code == 400 and "attachment_formats" in bad.json()


async def test_auto_sign_after_sending() -> None:
    bridge = Bridge()
    state = SdSandboxState(clock=FrozenClock())
    state.webhook_retry_base_s = 0.0
    app = create_app(SETTINGS.model_copy(update={"auto_sign_after_s": 0.0}), state,
                     webhook_transport=httpx.MockTransport(bridge.handle))  # fmt: skip
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
            await client.post(f"{API}/contracts/", json=create_body(), headers=AUTH)
            await client.post(f"{API}/contracts/T-5001/send_to_counterparties", json={"attachment_formats": ["PDF"]},
                              headers=AUTH)  # fmt: skip
            await app.state.sender.settle()
            assert state.contracts[5001].status == "EXECUTED"
            assert [parse_event(r.content).activity for r in bridge.received][-1] == "CONTRACT_EXECUTED"


@pytest.mark.parametrize("action", ["sign", "decline"])
async def test_auto_sign_leaves_a_contract_alone_that_moved_on(action: str) -> None:
    state = SdSandboxState(clock=FrozenClock())
    app = create_app(SETTINGS.model_copy(update={"auto_sign_after_s": 0.0}), state,
                     webhook_transport=httpx.MockTransport(Bridge().handle))  # fmt: skip
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
            await client.post(f"{API}/contracts/", json=create_body(), headers=AUTH)
            state.send(state.contracts[5001])
            getattr(state, action)(state.contracts[5001])
            before = state.contracts[5001].status
            await auto_sign(state, app.state.sender, 5001)
            await auto_sign(state, app.state.sender, 9999)
            assert state.contracts[5001].status == before
