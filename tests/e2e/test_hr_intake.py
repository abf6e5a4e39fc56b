"""HR intake on the real engine: the HR sandbox (BambooHR-style) hires someone and sends its signed webhook;
the bridge verifies it and publishes ``employee-hired``, whose message start event starts ``employee-nda``;
the NDA is filed and the HR record shows it. Re-sent and repeated events start nothing new; forged and
stale ones are refused; an employee the HR system does not know ends on a named path.

Also the other documented ways in (docs/start-contract/): Camunda 8.6's REST API and a message publish.
"""

from __future__ import annotations

import json

import httpx
import pytest

from tests.e2e.conftest import eventually, instance_log
from tests.e2e.nda_env import PERSONAL_VALUES, NdaEnv, nda_env

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
async def env(zeebe_client, zeebe_address, tmp_path_factory):
    async with nda_env(zeebe_address, tmp_path_factory.mktemp("hr")) as env:
        yield env


@pytest.fixture(autouse=True)
def clean_faults(env: NdaEnv):
    env.state.reset()
    yield
    env.state.reset()


async def filed_in_hr(env: NdaEnv, employee_id: str, timeout: float = 180) -> dict:
    """Wait until the HR record shows the filed NDA (the flow's last step); the record."""

    def record():
        found = env.hr_record(employee_id)
        return found if found.get("customNDAStatus", "").startswith("nda-001 filed") else None

    return await eventually(record, timeout=timeout, what=f"HR record {employee_id} shows the filed NDA")


def instances_that_fetched(env: NdaEnv, employee_id: str) -> set[int]:
    """Process instances whose build-payload job completed for this employee (from the worker's log)."""
    keys = set()
    for line in env.logs.lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") == "hr.call" and event.get("employee_id") == employee_id and \
                event.get("process_instance_key"):  # fmt: skip
            keys.add(event["process_instance_key"])
    return keys


async def test_a_hire_in_hr_files_the_nda_and_the_hr_record_shows_it(env: NdaEnv) -> None:
    employee_id = env.add_employee("H-200")
    hired = await env.hr_post("/_sandbox/hire", {"employeeId": employee_id})
    assert [d["status"] for d in hired["deliveries"]] == [202], hired

    record = await filed_in_hr(env, employee_id)
    (doc,) = env.documents_for(employee_id)
    assert record["customNDAStatus"] == f"nda-001 filed (document {doc['doc_id']})"
    location = record["customNDADocument"]
    assert location.endswith(f"{employee_id}_NDA.pdf") and (env.dms_root / doc["doc_id"]).is_dir()
    assert env.hr_state.updates_of(employee_id) == 1
    # the instance was started by the message: the bridge's event id is one of its variables' sources
    assert doc["idempotency_key"] == f"cw-emp-{employee_id}-nda-001"


async def test_the_same_hire_sent_three_times_and_two_other_events_make_one_instance_and_one_nda(env: NdaEnv) -> None:
    employee_id = env.add_employee("H-201")
    env.logs.lines.clear()
    # Hold the first instance at "wait for provider webhook" while HR keeps sending: every later event
    # arrives while an instance for this employee is active.
    env.faults(webhook_enabled=False)
    first = await env.hr_post("/_sandbox/hire", {"employeeId": employee_id})
    assert [d["status"] for d in first["deliveries"]] == [202], first

    async def generated():
        docs = env.documents_for(employee_id)
        return docs[0] if docs and docs[0]["status"] == "ready" else None

    doc = await eventually(generated, timeout=120, what="the first instance generated the NDA")
    # BambooHR's retries: the very same body (same event id), three more times
    again = await env.hr_post("/_sandbox/webhooks/send", {"employeeId": employee_id, "times": 3,
                                                          "timestamp": first["timestamp"]})  # fmt: skip
    assert again["eventId"] == first["eventId"]
    # two different events for the same person: HR edits the record, and a second "created"
    other = await env.hr_post("/_sandbox/webhooks/send", {"employeeId": employee_id, "type": "employee.updated",
                                                          "changedFields": ["workEmail"]})  # fmt: skip
    second = await env.hr_post("/_sandbox/webhooks/send", {"employeeId": employee_id,
                                                           "timestamp": "2026-01-02T03:04:05+0000"})  # fmt: skip
    assert len({first["eventId"], other["eventId"], second["eventId"]}) == 3
    for answer in (again, other, second):
        assert {d["status"] for d in answer["deliveries"]} == {202}, answer

    # now let the provider's webhook through: the one instance files the NDA and reports to HR
    async with httpx.AsyncClient(base_url=env.sandbox.base_url, timeout=30) as http:
        redelivered = await http.post(f"/_sandbox/documents/{doc['doc_id']}/redeliver", params={"wait": "1"})
    assert redelivered.status_code == 200, redelivered.text
    await filed_in_hr(env, employee_id)

    assert len(env.documents_for(employee_id)) == 1
    assert len(list(env.dms_root.glob(f"{doc['doc_id']}/*.pdf"))) == 1
    assert env.hr_state.updates_of(employee_id) == 1
    # exactly one instance ever asked the HR system for this employee
    assert len(instances_that_fetched(env, employee_id)) == 1, instances_that_fetched(env, employee_id)


@pytest.mark.parametrize("signature", ["forged", "stale", "missing"])
async def test_a_forged_or_stale_hr_webhook_is_401_and_starts_nothing(env: NdaEnv, signature: str) -> None:
    employee_id = env.add_employee(f"H-202{signature[0]}")
    refused = await env.hr_post("/_sandbox/webhooks/send", {"employeeId": employee_id, "signature": signature})
    assert [d["status"] for d in refused["deliveries"]] == [401], refused  # 4xx: BambooHR does not retry

    # a barrier: a genuine hire sent afterwards goes all the way through ...
    control = env.add_employee(f"H-203{signature[0]}")
    await env.hr_post("/_sandbox/hire", {"employeeId": control})
    await filed_in_hr(env, control)
    # ... while the refused one never reached the engine: no document, no HR update
    assert env.documents_for(employee_id) == []
    assert env.hr_state.updates_of(employee_id) == 0


async def test_an_employee_the_hr_system_does_not_know_ends_on_a_named_path(env: NdaEnv) -> None:
    env.logs.lines.clear()
    result = await env.client.run_process_with_result("employee-nda", variables={"employeeId": "H-404"},
                                                      timeout=180_000)  # fmt: skip
    error = result.variables["contractError"]
    assert error["code"] == "EMPLOYEE_NOT_FOUND" and "H-404" in error["message"]
    assert result.variables["outcome"] == "rejected_not_in_hr"
    assert "documentId" not in result.variables and env.documents_for("H-404") == []
    # not a crash loop: the BPMN error was thrown once, no job failed or was retried (the worker logs the
    # outcome once Zeebe acknowledged it, which can be just after the instance completed)
    def events():
        return [e["event"] for e in instance_log(env.logs.lines, result.process_instance_key)]

    seen = await eventually(events, until=lambda found: "job_bpmn_error" in found, what="the worker's BPMN error line")
    assert seen.count("job_bpmn_error") == 1 and "job_failed" not in seen, seen


async def test_hr_fixing_a_rejected_record_starts_onboarding_again(env: NdaEnv) -> None:
    employee_id = env.add_employee("H-205", workEmail=None)
    await env.hr_post("/_sandbox/hire", {"employeeId": employee_id})

    def rejected():
        return "rejected" in env.hr_record(employee_id).get("customNDAStatus", "")

    await eventually(rejected, timeout=180, what="the rejection reached the HR record")
    assert env.hr_record(employee_id)["customNDAStatus"] == "nda-001 rejected (invalid or missing: employee_email)"
    # HR fixes the work email: BambooHR sends employee.updated naming the field
    env.hr_state.update_employee(employee_id, {"workEmail": "h205@example.com"})
    fixed = await env.hr_post("/_sandbox/webhooks/send", {"employeeId": employee_id, "type": "employee.updated",
                                                          "changedFields": ["workEmail"]})  # fmt: skip
    assert [d["status"] for d in fixed["deliveries"]] == [202]
    await filed_in_hr(env, employee_id)
    assert len(env.documents_for(employee_id)) == 1


async def test_a_person_who_already_holds_the_nda_gets_none(env: NdaEnv) -> None:
    employee_id = env.add_employee("H-206")
    first = await env.client.run_process_with_result("employee-nda", variables={"employeeId": employee_id},
                                                     timeout=180_000)  # fmt: skip
    second = await env.client.run_process_with_result("employee-nda", variables={"employeeId": employee_id},
                                                      timeout=180_000)  # fmt: skip
    assert second.variables["documentId"] == first.variables["documentId"]
    assert second.variables["documentExisted"] is True and second.variables["dmsDocument"]["alreadyExisted"] is True
    assert len(env.documents_for(employee_id)) == 1


async def test_the_documented_rest_and_message_starts_work_on_8_6(env: NdaEnv, engine) -> None:
    """docs/start-contract/README.md, sections 3 and 4, against the real engine's REST API."""
    if engine.rest_url is None:
        pytest.skip("this engine exposes no REST address to the tests")
    rest_id, message_id = env.add_employee("H-207"), env.add_employee("H-208")
    async with httpx.AsyncClient(base_url=engine.rest_url, timeout=30, trust_env=False) as rest:
        created = await rest.post("/v2/process-instances", json={
            "processDefinitionId": "employee-nda", "variables": {"employeeId": rest_id}})  # fmt: skip
        assert created.status_code == 200, created.text
        assert int(created.json()["processInstanceKey"]) > 0
        published = await rest.post("/v2/messages/publication", json={
            "name": "employee-hired", "correlationKey": message_id, "timeToLive": 0,
            "messageId": "docs-example-1", "variables": {"employeeId": message_id}})  # fmt: skip
        assert published.status_code == 200, published.text
    for employee_id in (rest_id, message_id):
        record = await filed_in_hr(env, employee_id)
        assert not any(value in json.dumps(record.get("customNDAStatus")) for value in PERSONAL_VALUES)
