from __future__ import annotations

import httpx

from workers.signing import verify

from .support import WEBHOOK_SECRET, Sandbox


async def test_webhook_is_signed_and_verifiable(sandbox: Sandbox) -> None:
    token = await sandbox.token()
    doc_id = (await sandbox.generate(token, key="k1")).json()["doc_id"]
    [delivery] = await sandbox.webhooks.wait_for(1)
    event_id = verify(WEBHOOK_SECRET, delivery.body, delivery.headers)
    event = delivery.json()
    assert event_id == event["event_id"] and event_id.startswith("evt_")
    assert event["event_type"] == "document.ready"
    assert event["doc_id"] == doc_id
    assert event["status"] == "ready"
    assert event["template_id"] == "nda-001"
    assert event["metadata"] == {"request_id": "req-42", "initiated_by": "HR_SYSTEM", "template_version": "3"}
    assert "occurred_at" in event
    assert "download_url" not in event  # a capability: fetched through the API, never pushed
    assert "employee_name" not in delivery.body.decode()  # no contract data in the event
    assert delivery.headers["content-type"] == "application/json"
    assert sandbox.state.documents[doc_id].status == "ready"
    await sandbox.app.state.dispatcher.idle()
    assert sandbox.state.documents[doc_id].webhook_successes == 1


async def test_duplicates_carry_the_same_event_id(sandbox: Sandbox) -> None:
    await sandbox.faults(webhook_duplicates=2)
    token = await sandbox.token()
    doc_id = (await sandbox.generate(token)).json()["doc_id"]
    deliveries = await sandbox.webhooks.wait_for(3)
    assert len({verify(WEBHOOK_SECRET, d.body, d.headers) for d in deliveries}) == 1
    assert len({d.body for d in deliveries}) == 1
    await sandbox.app.state.dispatcher.idle()
    assert len(sandbox.webhooks.deliveries) == 3
    state = (await sandbox.client.get("/_sandbox/state")).json()
    [doc] = state["documents"]
    assert doc["doc_id"] == doc_id
    assert doc["webhook_attempts"] == 3 and doc["webhook_successes"] == 3
    assert doc["request_id"] == "req-42"


async def test_early_webhook_arrives_before_the_generate_response(sandbox: Sandbox) -> None:
    await sandbox.faults(webhook_early=True, webhook_delay_s=5)
    token = await sandbox.token()
    response = await sandbox.generate(token)
    # Already delivered by the time the client sees the answer; the answer is as of creation time.
    assert len(sandbox.webhooks.deliveries) == 1
    assert response.status_code == 202
    assert response.json()["status"] == "processing"
    assert sandbox.webhooks.deliveries[0].json()["doc_id"] == response.json()["doc_id"]
    doc = (await sandbox.document(token, response.json()["doc_id"])).json()
    assert doc["status"] == "ready"


async def test_failed_deliveries_are_retried_with_the_same_event_id(sandbox: Sandbox) -> None:
    sandbox.webhooks.script = [503, httpx.ConnectError("refused"), 500]
    token = await sandbox.token()
    doc_id = (await sandbox.generate(token)).json()["doc_id"]
    [delivery] = await sandbox.webhooks.wait_for(1)
    assert sandbox.webhooks.attempts == 4
    assert verify(WEBHOOK_SECRET, delivery.body, delivery.headers) == sandbox.state.documents[doc_id].event_ids[
        "document.ready"
    ]
    await sandbox.app.state.dispatcher.idle()
    assert sandbox.state.counters["webhook_deliveries_attempted"] == 4
    assert sandbox.state.counters["webhook_deliveries_succeeded"] == 1


async def test_delivery_gives_up_after_max_attempts(sandbox: Sandbox) -> None:
    await sandbox.faults(webhook_max_attempts=2)
    sandbox.webhooks.script = [500, 500, 500]
    token = await sandbox.token()
    doc_id = (await sandbox.generate(token)).json()["doc_id"]
    await sandbox.wait_ready(doc_id)
    await sandbox.app.state.dispatcher.idle()
    assert sandbox.webhooks.attempts == 2
    assert sandbox.webhooks.deliveries == []


async def test_disabled_webhooks_and_redelivery(sandbox: Sandbox) -> None:
    await sandbox.faults(webhook_enabled=False)
    token = await sandbox.token()
    doc_id = (await sandbox.generate(token)).json()["doc_id"]
    await sandbox.wait_ready(doc_id)
    await sandbox.app.state.dispatcher.idle()
    assert sandbox.webhooks.attempts == 0

    response = await sandbox.client.post(f"/_sandbox/documents/{doc_id}/redeliver", params={"wait": "true"})
    assert response.status_code == 200
    assert response.json()["delivered"] is True
    again = await sandbox.client.post(f"/_sandbox/documents/{doc_id}/redeliver")
    assert again.status_code == 202
    deliveries = await sandbox.webhooks.wait_for(2)
    ids = {verify(WEBHOOK_SECRET, d.body, d.headers) for d in deliveries}
    assert ids == {response.json()["event_id"]}
    assert (await sandbox.client.post("/_sandbox/documents/doc_nope/redeliver")).status_code == 404


async def test_render_failure_sends_a_failed_event(sandbox: Sandbox) -> None:
    sandbox.state.set_faults({"render_fail_next": 1})
    token = await sandbox.token()
    doc_id = (await sandbox.generate(token)).json()["doc_id"]
    [delivery] = await sandbox.webhooks.wait_for(1)
    event = delivery.json()
    assert event["event_type"] == "document.failed" and event["status"] == "failed"
    doc = (await sandbox.document(token, doc_id)).json()
    assert doc["status"] == "failed" and doc["download_url"] is None


async def test_shutdown_cancels_pending_deliveries(sandbox: Sandbox) -> None:
    await sandbox.faults(webhook_delay_s=30)
    token = await sandbox.token()
    await sandbox.generate(token)
    dispatcher = sandbox.app.state.dispatcher
    assert len(dispatcher.tasks) == 1
    await dispatcher.aclose()
    assert dispatcher.tasks == set()
    assert sandbox.webhooks.attempts == 0
