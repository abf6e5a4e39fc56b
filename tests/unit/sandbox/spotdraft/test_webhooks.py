"""The SpotDraft sandbox's webhooks: retries, duplicates, out-of-order delivery, disabled delivery and
redelivery (byte for byte, so the derived message id repeats), forged and unsigned deliveries."""

from __future__ import annotations

import json

import httpx
import pytest

from workers.providers.spotdraft.webhooks import HEADER_SIGNATURE, parse_event
from workers.signing import SignatureError

from .support import VERIFIER, Sandbox


async def _executed(sd: Sandbox) -> dict:
    await sd.create()
    await sd.send("T-5001")
    return (await sd.client.post("/_sandbox/contracts/T-5001/sign")).json()


async def test_deliveries_retry_on_5xx_429_and_connection_errors_never_on_4xx(sd: Sandbox) -> None:
    sd.bridge.script = [503, httpx.ConnectError("refused"), 429, 200]
    await sd.create()
    await sd.settle()
    [created] = sd.state.events
    assert [(d["attempt"], d["status"]) for d in created["deliveries"]] == [(1, 503), (2, None), (3, 429), (4, 200)]
    assert len({r.content for r in sd.bridge.received}) == 1  # each retry repeats the body
    sd.bridge.script = [401]
    await sd.send("T-5001")
    await sd.settle()
    assert [d["status"] for d in sd.state.events[-1]["deliveries"]] == [401]
    sd.bridge.script = [500] * 10
    await sd.client.post("/_sandbox/contracts/T-5001/decline")
    assert [d["status"] for d in sd.state.events[-1]["deliveries"]] == [500] * 4  # webhook_retries = 3
    assert sd.state.deliveries == {"attempted": 9, "succeeded": 1, "failed": 8}


async def test_duplicates_and_out_of_order(sd: Sandbox) -> None:
    await sd.create()
    await sd.send("T-5001")
    await sd.settle()
    sd.bridge.received.clear()
    await sd.client.post("/_sandbox/faults", json={"webhook_duplicates": 1, "webhook_out_of_order": True})
    answer = (await sd.client.post("/_sandbox/contracts/T-5001/sign")).json()
    assert sd.bridge.activities() == ["CONTRACT_EXECUTED", "CONTRACT_EXECUTED", "CONTRACT_SIGNED", "CONTRACT_SIGNED",
                                      "CONTRACT_SIGNATURE_REQUESTED", "CONTRACT_SIGNATURE_REQUESTED"]  # fmt: skip
    assert [d["delivery"] for d in answer["events"][2]["deliveries"]] == [1, 2]
    executed = [r for r in sd.bridge.received if parse_event(r.content).activity == "CONTRACT_EXECUTED"]
    assert executed[0].content == executed[1].content
    for request in sd.bridge.received:
        VERIFIER.verify(request.content, request.headers, 300)


async def test_disabled_webhooks_are_logged_then_redelivered(sd: Sandbox) -> None:
    await sd.client.post("/_sandbox/faults", json={"webhook_enabled": False})
    answer = await _executed(sd)
    assert sd.bridge.received == [] and all(e["deliveries"] == [] for e in answer["events"])
    log = (await sd.client.get("/_sandbox/webhooks")).json()["events"]
    assert log[-1]["activity"] == "CONTRACT_EXECUTED" and json.loads(log[-1]["body"])["contract_id"] == 5001
    wanted = {"compositeId": "T-5001", "activity": "CONTRACT_EXECUTED", "times": 2}
    redelivered = await sd.client.post("/_sandbox/webhooks/redeliver", json=wanted)
    [event] = redelivered.json()["events"]
    assert event["messageId"] == answer["events"][-1]["messageId"] and len(event["deliveries"]) == 2
    assert sd.bridge.received[0].content.decode() == log[-1]["body"] == sd.bridge.received[1].content.decode()
    everything = await sd.client.post("/_sandbox/webhooks/redeliver", json={"all": True})
    assert [e["activity"] for e in everything.json()["events"]][:2] == ["CONTRACT_CREATED",
                                                                       "CONTRACT_SENT_TO_COUNTERPARTY"]  # fmt: skip


@pytest.mark.parametrize("mode", ["forged", "missing"])
async def test_bad_signatures_are_rejected_by_the_verifier(sd: Sandbox, mode: str) -> None:
    await sd.create()
    await sd.settle()
    sd.bridge.received.clear()
    answer = await sd.client.post("/_sandbox/webhooks/redeliver", json={"signature": mode})
    assert answer.status_code == 200
    [request] = sd.bridge.received
    with pytest.raises(SignatureError):
        VERIFIER.verify(request.content, request.headers, 300)
    assert (HEADER_SIGNATURE.lower() in request.headers) == (mode == "forged")


@pytest.mark.parametrize(
    ("body", "field_name"),
    [({"times": 0}, "times"), ({"times": 21}, "times"), ({"signature": "stale"}, "signature"),
     ({"compositeId": 5001}, "compositeId"), ({"all": "yes"}, "all")],
)  # fmt: skip
async def test_redeliver_validates_its_options(sd: Sandbox, body: dict, field_name: str) -> None:
    await sd.create()
    response = await sd.client.post("/_sandbox/webhooks/redeliver", json=body)
    assert response.status_code == 400 and response.json()["fields"] == [field_name]
    missing = await sd.client.post("/_sandbox/webhooks/redeliver", json={"compositeId": "T-9"})
    assert missing.status_code == 404
