from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest

from workers.hr.settings import DEV_BAMBOOHR_API_KEY, DEV_BAMBOOHR_WEBHOOK_KEY, HrSandboxSettings
from workers.hr.signing import HEADER_SIGNATURE, HEADER_TIMESTAMP, BambooHrVerifier, event_id, parse_event
from workers.sandbox.bamboohr import SEED_EMPLOYEES, HrSandboxServer, HrSandboxState, create_app
from workers.signing import SignatureError

SETTINGS = HrSandboxSettings(company="sandbox", company_id="1", webhook_url="http://bridge.test/webhooks/bamboohr")
EMPLOYEE = "/api/gateway.php/sandbox/v1/employees/{id}/"
AUTH = ("Authorization", "Basic " + base64.b64encode(f"{DEV_BAMBOOHR_API_KEY}:x".encode()).decode())
JSON = {"Accept": "application/json", AUTH[0]: AUTH[1]}
VERIFIER = BambooHrVerifier.from_keys(DEV_BAMBOOHR_WEBHOOK_KEY)


@dataclass
class Bridge:
    """The webhook endpoint: records every attempt; ``script`` answers the first ones (status or
    exception), then 200."""

    script: list[int | Exception] = field(default_factory=list)
    received: list[httpx.Request] = field(default_factory=list)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.received.append(request)
        outcome = self.script.pop(0) if self.script else 200
        if isinstance(outcome, Exception):
            raise outcome
        return httpx.Response(outcome)


@dataclass
class Sandbox:
    client: httpx.AsyncClient
    state: HrSandboxState
    bridge: Bridge

    async def get(self, employee_id: str, fields: str | None = "firstName,lastName", **headers: str) -> httpx.Response:
        params = {"fields": fields} if fields is not None else None
        return await self.client.get(EMPLOYEE.format(id=employee_id), params=params, headers=headers or JSON)


@pytest.fixture
async def hr_sandbox() -> AsyncIterator[Sandbox]:
    state = HrSandboxState()
    state.webhook_retry_base_s = 0.0
    bridge = Bridge()
    app = create_app(SETTINGS, state, webhook_transport=httpx.MockTransport(bridge.handle))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hr-sandbox.test") as client:
            yield Sandbox(client, state, bridge)


# --- employee API -----------------------------------------------------------------------------------


async def test_get_honours_fields_and_answers_null_for_unknown_ones(hr_sandbox: Sandbox) -> None:
    response = await hr_sandbox.get("101", "firstName,workEmail,hireDate,noSuchField")
    assert response.status_code == 200
    assert response.json() == {
        "id": "101", "firstName": "Maren", "workEmail": "maren.holt@example.com", "hireDate": "2026-03-02",
        "noSuchField": None,
    }  # fmt: skip
    assert (await hr_sandbox.get("103", "workEmail")).json() == {"id": "103", "workEmail": None}
    assert (await hr_sandbox.get("104", "hireDate")).json() == {"id": "104", "hireDate": "0000-00-00"}
    assert (await hr_sandbox.get("101", None)).json() == {"id": "101", "firstName": "Maren", "lastName": "Holt"}


async def test_with_and_without_trailing_slash(hr_sandbox: Sandbox) -> None:
    url = EMPLOYEE.format(id="101").rstrip("/")
    bare = await hr_sandbox.client.get(url, params={"fields": "city"}, headers=JSON)
    assert bare.status_code == 200 and bare.json() == {"id": "101", "city": "Port Elsby"}


async def test_xml_without_a_json_accept_header(hr_sandbox: Sandbox) -> None:
    response = await hr_sandbox.get("101", "firstName", Authorization=AUTH[1])
    assert response.headers["content-type"].startswith("text/xml")
    assert '<field id="firstName">Maren</field>' in response.text


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer " + DEV_BAMBOOHR_API_KEY, "Basic " + base64.b64encode(b"wrong-key:x").decode(), "Basic !!"],
)
async def test_basic_auth_with_the_api_key_is_required(hr_sandbox: Sandbox, authorization: str | None) -> None:
    headers = {"Accept": "application/json"} | ({"Authorization": authorization} if authorization else {})
    response = await hr_sandbox.get("101", **headers)
    assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Basic")
    assert response.content == b""


async def test_any_password_is_accepted(hr_sandbox: Sandbox) -> None:
    basic = "Basic " + base64.b64encode(f"{DEV_BAMBOOHR_API_KEY}:anything".encode()).decode()
    assert (await hr_sandbox.get("101", Accept="application/json", Authorization=basic)).status_code == 200


async def test_wrong_company_and_unknown_employee_are_404(hr_sandbox: Sandbox) -> None:
    other = await hr_sandbox.client.get("/api/gateway.php/other/v1/employees/101/", headers=JSON)
    assert other.status_code == 404
    assert (await hr_sandbox.get("999")).status_code == 404


async def test_update_stores_fields_and_logs_the_update(hr_sandbox: Sandbox) -> None:
    body = {"customNDAStatus": "sent", "customNDADocument": "doc_1", "jobTitle": "Senior Engineer"}
    response = await hr_sandbox.client.post(EMPLOYEE.format(id="101"), json=body, headers=JSON)
    assert response.status_code == 200 and response.content == b""
    assert hr_sandbox.state.employees["101"]["customNDAStatus"] == "sent"
    assert hr_sandbox.state.employees["101"]["jobTitle"] == "Senior Engineer"
    [entry] = hr_sandbox.state.update_log
    assert entry["employeeId"] == "101" and entry["fields"] == body
    record = (await hr_sandbox.client.get("/_sandbox/employees/101")).json()
    assert record["customNDADocument"] == "doc_1" and record["updates"] == 1 and record["ssn"]
    assert (await hr_sandbox.get("101", "customNDAStatus,customOther")).json() == {
        "id": "101", "customNDAStatus": "sent", "customOther": None,
    }  # fmt: skip
    assert (await hr_sandbox.client.get("/_sandbox/updates")).json()["updates"][0]["fields"] == body


@pytest.mark.parametrize(
    ("body", "fields"),
    [({"favouriteColour": "blue", "customNDAStatus": "x"}, ["favouriteColour"]), ({"id": "7"}, ["id"]),
     ({"customNDAStatus": 1}, ["customNDAStatus"])],
)  # fmt: skip
async def test_update_refuses_unknown_fields_and_non_strings(hr_sandbox: Sandbox, body: dict, fields: list) -> None:
    response = await hr_sandbox.client.post(EMPLOYEE.format(id="101"), json=body, headers=JSON)
    assert response.status_code == 400 and response.json()["fields"] == fields
    assert response.headers["x-bamboohr-error-message"]
    assert hr_sandbox.state.update_log == [] and "customNDAStatus" not in hr_sandbox.state.employees["101"]


async def test_update_refuses_bad_json_and_unknown_employees(hr_sandbox: Sandbox) -> None:
    url = EMPLOYEE.format(id="101")
    assert (await hr_sandbox.client.post(url, content=b"{", headers=JSON)).status_code == 400
    assert (await hr_sandbox.client.post(url, json=["x"], headers=JSON)).status_code == 400
    assert (await hr_sandbox.client.post(EMPLOYEE.format(id="999"), json={}, headers=JSON)).status_code == 404


def test_seeded_employees() -> None:
    assert sorted(SEED_EMPLOYEES) == ["101", "102", "103", "104"]
    complete = {"firstName", "lastName", "workEmail", "hireDate", "jobTitle", "department", "address1", "city",
                "dateOfBirth", "ssn"}  # fmt: skip
    assert complete <= set(SEED_EMPLOYEES["101"]) and complete <= set(SEED_EMPLOYEES["102"])
    assert complete - set(SEED_EMPLOYEES["103"]) == {"workEmail"}
    assert complete - set(SEED_EMPLOYEES["104"]) == {"hireDate"}
    for record in SEED_EMPLOYEES.values():
        assert record.get("workEmail", "x@example.com").endswith("@example.com") and record["ssn"].startswith("000-")


# --- control plane ----------------------------------------------------------------------------------


async def test_create_and_replace_employees(hr_sandbox: Sandbox) -> None:
    created = await hr_sandbox.client.post("/_sandbox/employees", json={"firstName": "Lena", "lastName": "Voss"})
    assert created.status_code == 201 and created.json() == {"id": "105"}
    replaced = await hr_sandbox.client.post("/_sandbox/employees", json={"id": "105", "firstName": "Lena"})
    assert replaced.json() == {"id": "105"}
    assert hr_sandbox.state.employees["105"] == {"firstName": "Lena"}
    named = await hr_sandbox.client.post("/_sandbox/employees", json={"id": "e-7", "customNDAStatus": "none"})
    assert named.json() == {"id": "e-7"} and (await hr_sandbox.get("e-7", "customNDAStatus")).status_code == 200
    bad = await hr_sandbox.client.post("/_sandbox/employees", json={"shoeSize": "42"})
    assert bad.status_code == 400 and bad.json()["fields"] == ["shoeSize"]
    assert (await hr_sandbox.client.post("/_sandbox/employees", json={"id": "../x"})).status_code == 400
    assert (await hr_sandbox.client.get("/_sandbox/employees/999")).status_code == 404


async def test_faults(hr_sandbox: Sandbox) -> None:
    client = hr_sandbox.client
    assert (await client.post("/_sandbox/faults", json={"fail_next": 2})).json()["faults"]["fail_next"] == 2
    assert [(await hr_sandbox.get("101")).status_code for _ in range(3)] == [503, 503, 200]
    await client.post("/_sandbox/faults", json={"rate_limit_next": 1})
    limited = await hr_sandbox.get("101")
    assert limited.status_code == 429 and limited.headers["retry-after"] == "1"
    assert (await hr_sandbox.get("101")).status_code == 200
    await client.post("/_sandbox/faults", json={"down": True})
    assert [(await hr_sandbox.get("101")).status_code for _ in range(2)] == [503, 503]
    assert (await client.get("/_sandbox/employees/101")).status_code == 200  # control plane unaffected
    await client.post("/_sandbox/faults", json={"down": False, "unauthorized": True})
    assert (await hr_sandbox.get("101")).status_code == 401
    await client.post("/_sandbox/faults", json={"unauthorized": False, "latency_s": 0.001})
    assert (await hr_sandbox.get("101")).status_code == 200
    for bad in ({"fail_next": -1}, {"down": "yes"}, {"latency_s": "slow"}, {"nope": 1}):
        response = await client.post("/_sandbox/faults", json=bad)
        assert response.status_code == 400, bad
    assert (await client.get("/_sandbox/faults")).json()["faults"]["latency_s"] == 0.001


async def test_state_counts_requests_by_route_and_status(hr_sandbox: Sandbox) -> None:
    await hr_sandbox.get("101")
    await hr_sandbox.get("999")
    await hr_sandbox.client.post(EMPLOYEE.format(id="101"), json={"customNDAStatus": "sent"}, headers=JSON)
    state = (await hr_sandbox.client.get("/_sandbox/state")).json()
    route = "/api/gateway.php/{company}/v1/employees/{id}/"
    assert state["requests"][f"GET {route}"] == {"200": 1, "404": 1}
    assert state["requests"][f"POST {route}"] == {"200": 1}
    assert state["updates"] == 1 and state["deliveries"] == {"attempted": 0, "succeeded": 0, "failed": 0}
    await hr_sandbox.client.post("/_sandbox/reset")
    assert hr_sandbox.state.update_log == [] and "customNDAStatus" not in hr_sandbox.state.employees["101"]


# --- webhooks ---------------------------------------------------------------------------------------


async def test_hire_sends_a_signed_employee_created_webhook(hr_sandbox: Sandbox) -> None:
    answer = (await hr_sandbox.client.post("/_sandbox/hire", json={"employeeId": "101"})).json()
    [request] = hr_sandbox.bridge.received
    assert str(request.url) == SETTINGS.webhook_url and request.headers["content-type"] == "application/json"
    VERIFIER.verify(request.content, request.headers, 300)
    event = parse_event(request.content)
    assert (event.type, event.company_id, event.employee_id) == ("employee.created", "1", "101")
    assert event.changed_fields == []
    assert answer["eventId"] == event.event_id == event_id(json.loads(request.content))
    assert answer["employeeId"] == "101" and answer["deliveries"] == [{"delivery": 1, "attempt": 1, "status": 200}]
    body = request.content.decode()
    assert "Maren" not in body and "example.com" not in body  # no personal data in events
    assert set(json.loads(body)) == {"type", "timestamp", "data"}
    assert abs(int(request.headers[HEADER_TIMESTAMP]) - time.time()) < 60


async def test_hire_with_a_new_employee_creates_the_record_first(hr_sandbox: Sandbox) -> None:
    new = {"firstName": "Lena", "lastName": "Voss", "workEmail": "lena.voss@example.com", "hireDate": "2026-05-04"}
    answer = (await hr_sandbox.client.post("/_sandbox/hire", json={"employee": new})).json()
    assert answer["employeeId"] == "105" and hr_sandbox.state.employees["105"] == new
    assert parse_event(hr_sandbox.bridge.received[0].content).employee_id == "105"
    assert (await hr_sandbox.client.post("/_sandbox/hire", json={"employeeId": "999"})).status_code == 404
    assert (await hr_sandbox.client.post("/_sandbox/hire", json={})).status_code == 400


@pytest.mark.parametrize("mode", ["forged", "stale", "missing"])
async def test_bad_signatures_are_rejected_by_the_verifier(hr_sandbox: Sandbox, mode: str) -> None:
    answer = await hr_sandbox.client.post("/_sandbox/webhooks/send", json={"employeeId": "101", "signature": mode})
    assert answer.status_code == 200
    [request] = hr_sandbox.bridge.received
    with pytest.raises(SignatureError):
        VERIFIER.verify(request.content, request.headers, 300)
    if mode == "stale":  # correctly signed, only old
        VERIFIER.verify(request.content, request.headers, 300, now=float(request.headers[HEADER_TIMESTAMP]))
    if mode == "missing":
        assert HEADER_SIGNATURE.lower() not in request.headers


async def test_redeliveries_repeat_the_body_and_the_event_id(hr_sandbox: Sandbox) -> None:
    send = {"employeeId": "102", "type": "employee.updated", "changedFields": ["hireDate"], "times": 2}
    async def post(body: dict) -> dict:
        return (await hr_sandbox.client.post("/_sandbox/webhooks/send", json=body)).json()

    first = await post(send)
    assert [d["delivery"] for d in first["deliveries"]] == [1, 2]
    again = await post({**send, "timestamp": first["timestamp"], "times": 1})
    bodies = [r.content for r in hr_sandbox.bridge.received]
    assert len(bodies) == 3 and len(set(bodies)) == 1
    assert first["eventId"] == again["eventId"] == parse_event(bodies[0]).event_id
    assert parse_event(bodies[0]).changed_fields == ["hireDate"]
    for request in hr_sandbox.bridge.received:
        VERIFIER.verify(request.content, request.headers, 300)
    later = await post({**send, "timestamp": "2026-01-31T18:42:00+0000"})
    assert later["eventId"] != first["eventId"]


async def test_deliveries_retry_on_5xx_429_and_connection_errors_never_on_4xx(hr_sandbox: Sandbox) -> None:
    hr_sandbox.bridge.script = [503, httpx.ConnectError("refused"), 429, 200]
    answer = (await hr_sandbox.client.post("/_sandbox/hire", json={"employeeId": "101"})).json()
    assert [(d["attempt"], d["status"]) for d in answer["deliveries"]] == [(1, 503), (2, None), (3, 429), (4, 200)]
    assert answer["delivered"] == 1
    assert len({r.content for r in hr_sandbox.bridge.received}) == 1  # each retry repeats the body
    hr_sandbox.bridge.script = [401]
    answer = (await hr_sandbox.client.post("/_sandbox/hire", json={"employeeId": "101"})).json()
    assert answer["deliveries"] == [{"delivery": 1, "attempt": 1, "status": 401}]
    hr_sandbox.bridge.script = [500] * 10
    answer = (await hr_sandbox.client.post("/_sandbox/hire", json={"employeeId": "101"})).json()
    assert [d["status"] for d in answer["deliveries"]] == [500] * (SETTINGS.webhook_retries + 1)
    assert answer["delivered"] == 0
    assert hr_sandbox.state.deliveries == {"attempted": 9, "succeeded": 1, "failed": 8}


@pytest.mark.parametrize(
    ("body", "field_name"),
    [({}, "employeeId"), ({"employeeId": "../1"}, "employeeId"), ({"employeeId": "1", "type": "x"}, "type"),
     ({"employeeId": "1", "times": 0}, "times"), ({"employeeId": "1", "signature": "weird"}, "signature"),
     ({"employeeId": "1", "changedFields": "hireDate"}, "changedFields"),
     ({"employeeId": "1", "timestamp": "<script>"}, "timestamp")],
)  # fmt: skip
async def test_send_validates_its_options(hr_sandbox: Sandbox, body: dict, field_name: str) -> None:
    response = await hr_sandbox.client.post("/_sandbox/webhooks/send", json=body)
    assert response.status_code == 400 and response.json()["fields"] == [field_name]
    assert hr_sandbox.bridge.received == []


# --- a real loopback port ---------------------------------------------------------------------------


def test_hr_sandbox_server_answers_on_a_real_loopback_port() -> None:
    server = HrSandboxServer(SETTINGS, HrSandboxState(), port=0)
    server.start(timeout=60)
    try:
        assert server.port != 0 and server.base_url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=server.base_url, trust_env=False, timeout=30) as client:
            response = client.get(EMPLOYEE.format(id="102"), params={"fields": "preferredName"}, headers=JSON)
            assert response.json() == {"id": "102", "preferredName": "Jon"}
        # the server counts a request after answering it, from its own thread: wait for the count
        deadline = time.monotonic() + 30
        while server.state.requests.get("GET /api/gateway.php/{company}/v1/employees/{id}/") != {"200": 1} and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.state.requests.get("GET /api/gateway.php/{company}/v1/employees/{id}/") == {"200": 1}
    finally:
        server.stop()
    # stopped: its serving thread ended and its socket is closed (connecting to the freed port would race
    # with whatever else on a busy machine gets that port next)
    assert server._thread is None and server._sock is None
