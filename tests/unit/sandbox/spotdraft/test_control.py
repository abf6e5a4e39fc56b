"""The SpotDraft sandbox's control plane (faults, state, reset, templates, contracts) and a real port."""

from __future__ import annotations

import time

import httpx
import pytest

from workers.sandbox.spotdraft import TEMPLATES, SdSandboxState, SpotDraftSandboxServer

from .support import API, AUTH, SETTINGS, Sandbox, create_body


async def test_faults(sd: Sandbox) -> None:
    client = sd.client
    hmac_key = f"{API}/webhooks/hmac_key/"
    assert (await client.post("/_sandbox/faults", json={"fail_next": 2})).json()["faults"]["fail_next"] == 2
    assert [(await client.get(hmac_key, headers=AUTH)).status_code for _ in range(3)] == [503, 503, 200]
    await client.post("/_sandbox/faults", json={"rate_limit_next": 1})
    limited = await client.get(hmac_key, headers=AUTH)
    assert limited.status_code == 429 and limited.headers["retry-after"] == "1"
    await client.post("/_sandbox/faults", json={"down": True})
    assert (await client.get(hmac_key, headers=AUTH)).status_code == 503
    assert (await client.get("/_sandbox/health")).status_code == 200  # control plane unaffected
    await client.post("/_sandbox/faults", json={"down": False, "unauthorized": True})
    assert (await client.get(hmac_key, headers=AUTH)).status_code == 401
    await client.post("/_sandbox/faults", json={"unauthorized": False, "latency_s": 0.001})
    assert (await client.get(hmac_key, headers=AUTH)).status_code == 200
    for bad in ({"fail_next": -1}, {"down": "yes"}, {"latency_s": "slow"}, {"nope": 1}, {"webhook_duplicates": 1.5}):
        assert (await client.post("/_sandbox/faults", json=bad)).status_code == 400, bad
    assert (await client.get("/_sandbox/faults")).json()["faults"]["latency_s"] == 0.001
    assert sd.state.faults_injected == 5


async def test_state_contracts_templates_and_reset(sd: Sandbox) -> None:
    await sd.create()
    await sd.client.get(f"{API}/contracts/T-5001/status", headers=AUTH)
    await sd.client.get(f"{API}/contracts/T-9/status", headers=AUTH)
    state = (await sd.client.get("/_sandbox/state")).json()
    assert state["requests"][f"GET {API}/contracts/{{composite_id}}/status"] == {"200": 1, "404": 1}
    assert state["requests"][f"POST {API}/contracts/"] == {"201": 1}
    assert state["contracts"] == {"T-5001": "DRAFT"} and state["events"] == 1
    listed = (await sd.client.get("/_sandbox/contracts")).json()["contracts"]
    assert listed == [{"compositeId": "T-5001", "status": "DRAFT", "externalId": "deal-1"}]
    stored = (await sd.client.get("/_sandbox/contracts/T-5001")).json()
    assert stored["data"] == create_body()["contract_data"] and stored["version"] == 1
    assert (await sd.client.get("/_sandbox/contracts/T-9")).status_code == 404
    templates = (await sd.client.get("/_sandbox/templates")).json()["templates"]
    assert [t["id"] for t in templates] == sorted(TEMPLATES) == [101, 102]
    msa = templates[0]
    assert msa["title"] == "Master Services Agreement"
    assert {f["name"]: f["type"] for f in msa["fields"]} == {
        "customer_name": "text", "effective_date": "date", "contract_value": "currency", "term": "duration",
        "auto_renewal": "boolean", "notice_period_days": "number",
    }  # fmt: skip
    await sd.client.post("/_sandbox/faults", json={"down": True})
    assert (await sd.client.post("/_sandbox/reset")).json() == {"reset": True}
    assert sd.state.contracts == {} and sd.state.events == [] and not sd.state.faults.down
    assert (await sd.create())["id"] == "T-5001"


async def test_a_second_template(sd: Sandbox) -> None:
    data = {"effective_date": "2026-03-01", "term": {"type": "YEARS", "value": 2, "days": 730}, "purpose": "Evaluation"}
    body = create_body(contract_template_id=102, contract_data=data)
    response = await sd.client.post(f"{API}/contracts/", json=body, headers=AUTH)
    assert response.status_code == 201 and response.json()["contract_name"] == "Mutual Non-Disclosure Agreement"
    pointers = (await sd.client.get(f"{API}/contracts/T-5001/key_pointers", headers=AUTH)).json()
    assert {p["field_name"]: p["value"] for p in pointers}["expiry_date"] == "2028-03-01"


def test_the_server_answers_on_a_real_loopback_port() -> None:
    server = SpotDraftSandboxServer(SETTINGS, SdSandboxState(), port=0)
    server.start(timeout=60)
    try:
        assert server.port != 0 and server.base_url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=server.base_url, trust_env=False, timeout=30) as client:
            assert client.get(f"{API}/webhooks/hmac_key/", headers=AUTH).json()["hmac_key"]
            assert client.get(f"{API}/webhooks/hmac_key", headers=AUTH).status_code == 302
        # the server counts a request after answering it, from its own thread: wait for the count
        deadline = time.monotonic() + 30
        while server.state.requests.get(f"GET {API}/webhooks/hmac_key/") != {"200": 1} and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.state.requests.get(f"GET {API}/webhooks/hmac_key/") == {"200": 1}
    finally:
        server.stop()
    # stopped: its serving thread ended and its socket is closed (connecting to the freed port would race
    # with whatever else on a busy machine gets that port next)
    assert server._thread is None and server._sock is None
