"""The shipped employee-nda.bpmn on the real engine, with real HTTP on loopback:
HR sandbox (record by id) -> sandbox provider -> signed webhook -> bridge -> Zeebe message -> workers ->
filesystem DMS -> HR record updated. Instances start here by API with ``employeeId`` (the hire webhook
way in is ``test_hr_intake.py``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
from pypdf import PdfReader

from tests.e2e.conftest import eventually, instance_log
from tests.e2e.nda_env import PERSONAL_VALUES, NdaEnv, nda_env
from workers import signing
from workers.config import DEV_CLIENT_SECRET, DEV_WEBHOOK_SECRET

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
async def env(zeebe_client, zeebe_address, tmp_path_factory):
    async with nda_env(zeebe_address, tmp_path_factory.mktemp("nda")) as env:
        yield env


@pytest.fixture(autouse=True)
def clean_faults(env: NdaEnv):
    env.state.reset()
    yield
    env.state.reset()


def employee(env: NdaEnv, n: str, **changes) -> str:
    """A new hire in the HR sandbox; the instance gets only the id."""
    return env.add_employee(f"E-{n}", **changes)


async def run(env: NdaEnv, variables: dict, timeout_s: int = 180):
    # generous: a loaded 2-core machine stretches every step; a healthy run takes a few seconds
    return await env.client.run_process_with_result("employee-nda", variables=variables, timeout=timeout_s * 1000)


async def test_happy_path_files_the_pdf_with_pruned_metadata(env: NdaEnv) -> None:
    result = await run(env, {"employeeId": employee(env, "100")})
    v = result.variables
    doc_id = v["documentId"]
    assert v["dmsLocation"].endswith(".pdf")
    pdf = env.dms_root / doc_id / "E-100_NDA.pdf"
    assert pdf.exists(), list((env.dms_root / doc_id).iterdir())
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "Grace Hopper" in text
    metadata = env.dms_metadata(doc_id)
    assert metadata["metadata"]["employee_name"] == "Grace Hopper"
    assert set(metadata["metadata"]) <= {
        "employee_name", "start_date", "confidentiality_level",  # the nda-001 allow-list
        "request_id", "initiated_by", "template_id", "template_version", "doc_id", "sha256",
    }
    flat = json.dumps(metadata)
    assert "grace.hopper@example.com" not in flat  # not on the allow-list
    assert "Arlington" not in flat and "98765.43" not in flat and "1906-12-09" not in flat
    assert "employee_email" in v["droppedFields"]
    assert len(env.documents_for("E-100")) == 1
    # the result went back to the HR record, once
    record = env.hr_record("E-100")
    assert record["customNDAStatus"] == f"nda-001 filed (document {doc_id})"
    assert record["customNDADocument"] == v["dmsLocation"]
    assert env.hr_state.updates_of("E-100") == 1
    assert v["hrSync"] == {"system": "bamboohr", "outcome": "filed",
                           "fieldsWritten": ["customNDADocument", "customNDAStatus"]}  # fmt: skip
    assert v["outcome"] == "filed"  # what an operator filters on in Operate


async def test_webhook_before_the_catch_event_still_correlates(env: NdaEnv) -> None:
    env.faults(webhook_early=True)
    result = await run(env, {"employeeId": employee(env, "101")})
    assert result.variables["dmsLocation"]
    doc = env.documents_for("E-101")[0]
    assert doc["webhook_successes"] >= 1


async def test_same_webhook_three_times_gives_one_correlation_and_one_completion(env: NdaEnv) -> None:
    env.faults(webhook_duplicates=2)
    result = await run(env, {"employeeId": employee(env, "102")})
    doc_id = result.variables["documentId"]
    # all three deliveries were answered 2xx (the bridge saw duplicates and Zeebe dropped them)
    async def delivered_three_times():
        doc = env.documents_for("E-102")[0]
        return doc["webhook_successes"] >= 3

    await eventually(delivered_three_times, timeout=60)
    assert len(list(env.dms_root.glob(f"{doc_id}/*.pdf"))) == 1
    # a fourth delivery of the same event is still a duplicate, not a second correlation
    body = env.state.documents[doc_id].event_bodies["document.ready"]
    event_id = env.state.documents[doc_id].event_ids["document.ready"]
    reply = await _post(f"{env.bridge_url}/webhooks/contractize", content=body,
                       headers=signing.sign(DEV_WEBHOOK_SECRET, event_id, body))  # fmt: skip
    assert reply.status_code == 202 and reply.json()["status"] == "duplicate"


@pytest.mark.parametrize("problem", ["bad_signature", "stale_timestamp"])
async def test_bad_or_stale_webhook_is_refused_and_publishes_nothing(env: NdaEnv, problem: str) -> None:
    env.faults(webhook_enabled=False)
    instance = await env.client.run_process(
        "employee-nda", variables={"employeeId": employee(env, f"103{problem[0]}"), "reconcileAfter": "PT10M"}
    )

    async def generated():
        docs = env.documents_for(f"E-103{problem[0]}")
        return docs[0] if docs and docs[0]["status"] == "ready" else None

    doc = await eventually(generated, timeout=60)
    record = env.state.documents[doc["doc_id"]]
    event_id = env.state.event_id(record, "document.ready")
    body = json.dumps({"event_id": event_id, "event_type": "document.ready", "doc_id": doc["doc_id"],
                       "status": "ready", "template_id": "nda-001", "metadata": {},
                       "occurred_at": "2026-11-23T12:00:00Z"}).encode()  # fmt: skip
    if problem == "bad_signature":
        headers = signing.sign("not-the-secret", event_id, body)
    else:
        headers = signing.sign(DEV_WEBHOOK_SECRET, event_id, body, timestamp=time.time() - 3600)
    reply = await _post(f"{env.bridge_url}/webhooks/contractize", content=body, headers=headers)
    assert reply.status_code == 401
    # nothing was published: a correctly signed delivery of the same event id is the first, not a duplicate
    good = await _post(f"{env.bridge_url}/webhooks/contractize", content=body,
                      headers=signing.sign(DEV_WEBHOOK_SECRET, event_id, body))  # fmt: skip
    assert good.status_code == 202 and good.json()["status"] == "published"

    async def filed():
        return list(env.dms_root.glob(f"{doc['doc_id']}/*.pdf"))

    await eventually(filed, timeout=60)
    # the document filed is the one generated for this employee (its external id names employee and template)
    assert record.idempotency_key == f"cw-emp-E-103{problem[0]}-nda-001", record.idempotency_key
    assert instance.process_instance_key > 0
    assert len(env.documents_for(f"E-103{problem[0]}")) == 1


async def test_invalid_employee_ends_on_the_error_path_naming_the_fields(env: NdaEnv) -> None:
    bad = employee(env, "104", workEmail="not-an-email", hireDate=None)
    result = await run(env, {"employeeId": bad})
    error = result.variables["contractError"]
    assert error["code"] == "CONTRACT_DATA_INVALID"
    assert "HR record email" in error["message"] and "HR record startDate" in error["message"]
    assert "not-an-email" not in error["message"]
    assert sorted(error["fields"]) == ["employee_email", "start_date"]
    assert "documentId" not in result.variables
    assert env.documents_for("E-104") == []
    # HR learns why, by field name
    assert env.hr_record("E-104")["customNDAStatus"] == "nda-001 rejected (invalid or missing: employee_email, start_date)"
    assert result.variables["hrSync"]["outcome"] == "rejected"
    assert result.variables["outcome"] == "rejected_invalid_data"


async def test_provider_5xx_twice_then_ok_completes(env: NdaEnv) -> None:
    env.faults(fail_next={"status": 503, "count": 2, "path_prefix": "/v1/generate"})
    result = await run(env, {"employeeId": employee(env, "105")})
    assert result.variables["dmsLocation"]
    assert env.state.counters["faults_injected"] == 2
    assert len(env.documents_for("E-105")) == 1


async def test_rate_limit_is_waited_out_without_failing_the_job(env: NdaEnv) -> None:
    env.faults(rate_limit_next={"count": 1, "retry_after": 1})
    result = await run(env, {"employeeId": employee(env, "106")})
    assert result.variables["dmsLocation"]
    assert env.state.counters["faults_injected"] == 1  # the 429 was answered
    events = [line["event"] for line in instance_log(env.logs.lines, result.process_instance_key)]
    assert "job_completed" in events, events  # the filter does see this instance's lines
    assert "job_failed" not in events, events


async def test_late_webhook_is_reconciled_by_asking_the_provider(env: NdaEnv) -> None:
    env.faults(webhook_enabled=False)
    result = await run(env, {"employeeId": employee(env, "107"), "reconcileAfter": "PT2S"})
    assert result.variables["dmsLocation"]
    assert result.variables["reconcileAttempts"] >= 1


async def test_worker_killed_mid_generate_leaves_exactly_one_document(env: NdaEnv) -> None:
    await env.stop_worker()
    worker_env = {**os.environ, **env.worker_env(), "WORKER_JOB_TIMEOUT_MS": json.dumps({"contract.generate": 15000})}
    cmd = [sys.executable, "-m", "workers.cli", "--log-json", "worker"]
    first = subprocess.Popen(cmd, env=worker_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    second = None
    try:
        # every provider response is held 2 s after the provider did the work: the kill lands while the
        # document exists at the provider but the worker has not completed its job (generate makes three
        # provider calls: look-up, template, create; its 15 s job timeout leaves room for the 6 s they take
        # on a loaded machine: 4 s was too tight and left every attempt short of the create call)
        env.faults(timeout_next={"count": 50, "seconds": 2, "when": "after"})
        instance = await env.client.run_process("employee-nda", variables={"employeeId": employee(env, "108")})

        async def created():
            return env.documents_for("E-108")

        await eventually(created, timeout=90, interval=0.05)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        env.state.reset()
        second = subprocess.Popen(cmd, env=worker_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        async def filed():
            docs = env.documents_for("E-108")
            return docs and list(env.dms_root.glob(f"{docs[0]['doc_id']}/*.pdf"))

        await eventually(filed, timeout=90)
        docs = env.documents_for("E-108")
        assert len(docs) == 1, docs
        record = env.state.documents[docs[0]["doc_id"]]
        assert record.idempotency_key == "cw-emp-E-108-nda-001", record.idempotency_key
        assert len(list(env.dms_root.glob(f"{docs[0]['doc_id']}/*.pdf"))) == 1
        assert instance.process_instance_key > 0
    finally:
        for proc in (first, second):
            if proc and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=30)
        await env.start_worker()


async def test_no_token_secret_or_unlisted_pii_in_variables_or_logs(env: NdaEnv) -> None:
    env.logs.lines.clear()
    result = await run(env, {"employeeId": employee(env, "109")})
    variables = json.dumps(result.variables)
    for forbidden in (*PERSONAL_VALUES, DEV_CLIENT_SECRET, DEV_WEBHOOK_SECRET):
        assert forbidden not in variables, forbidden
    tokens = list(env.state.tokens)
    assert tokens, "the sandbox issued tokens"
    logs = env.logs.text()
    assert "job_completed" in logs  # the collector did see the worker's lines
    for forbidden in [*PERSONAL_VALUES, DEV_CLIENT_SECRET, DEV_WEBHOOK_SECRET, *tokens]:
        assert forbidden not in logs, f"{forbidden[:6]}… leaked into the logs"
        assert forbidden not in variables
    # the claim check: the instance never held the record, not even pruned
    assert result.variables["employeeId"] == "E-109"
    assert "employee" not in result.variables and "contractRequest" not in result.variables
    assert set(result.variables["providerToken"]) == {"provider", "expiresAt", "scopes"}


async def _post(url: str, content: bytes, headers: dict[str, str]) -> httpx.Response:
    # async: the bridge serves from this very event loop
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.post(url, content=content, headers=headers)
