"""What an operator sees: an instance run on the full stack shows up in Operate as COMPLETED."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from pyzeebe import ZeebeClient, create_insecure_channel

from tests.e2e.conftest import BPMN_DIR, deploy_all
from workers.config import WorkerSettings
from workers.devstack.operate import OperateClient
from workers.tasks import ping
from workers.worker import build_worker

pytestmark = [pytest.mark.e2e, pytest.mark.full]


async def test_completed_instance_is_listed_in_operate_with_its_variables(full_engine) -> None:
    channel = create_insecure_channel(grpc_address=full_engine.address)
    client = ZeebeClient(channel)
    await client.deploy_resource(str(BPMN_DIR / "contract-ping.bpmn"))
    worker = build_worker(channel, deps=None, settings=WorkerSettings(name="e2e-operate"), specs=[ping.SPEC])
    work = asyncio.create_task(worker.work())
    try:
        result = await client.run_process_with_result("contract-ping", variables={"message": "operate"}, timeout=120_000)
    finally:
        await worker.stop()
        work.cancel()
        await asyncio.gather(work, return_exceptions=True)
        await channel.close()

    key = result.process_instance_key
    async with OperateClient(full_engine.rest_url) as operate:
        # Operate imports asynchronously: each read waits for exactly what it asserts.
        instance = await operate.wait_for_instance(key, "COMPLETED")
        assert instance["bpmnProcessId"] == "contract-ping"
        assert instance["key"] == key
        variables = await operate.wait_for_variables(key, ["pong", "message"])
        assert json.loads(variables["pong"]) == "etarepo"
        assert json.loads(variables["message"]) == "operate"
        definitions = await operate.wait_for_definitions("contract-ping")
        assert instance["processDefinitionKey"] in {d["key"] for d in definitions}, (instance, definitions)


async def test_provider_down_becomes_a_clear_incident_and_completes_after_retry(full_engine, tmp_path) -> None:
    from tests.e2e.nda_env import nda_env
    from workers.zeebe import retry_incident

    client = ZeebeClient(create_insecure_channel(grpc_address=full_engine.address))
    await deploy_all(client)
    # nda_env fails jobs without a retry back-off (engine bug camunda/camunda#16884, see nda_env.py)
    async with nda_env(full_engine.address, tmp_path) as env, \
            OperateClient(full_engine.rest_url) as operate:  # fmt: skip
        employee_id = env.add_employee("E-DOWN")
        # the provider answers the token, template and lookup calls, but generation is down (503) until
        # we lift the fault: every attempt fails, whatever the timing, so the job ends in an incident
        env.faults(fail_next={"status": 503, "count": 1_000, "path_prefix": "/v1/generate"})
        created = await env.client.run_process("employee-nda", variables={"employeeId": employee_id})
        key = created.process_instance_key

        found = await operate.wait_for_incident(key)
        message = found["message"]
        # an operator can act on it: what failed, where, and what to do next
        assert "unavailable" in message and "HTTP 503" in message, message
        assert "no retries left" in message, message
        for secret in ("Bearer", env.provider_settings.client_secret.get_secret_value()):
            assert secret not in message

        env.faults(fail_next=None)
        await retry_incident(env.channel, job_key=found["jobKey"], incident_key=found["key"], retries=2)

        await operate.wait_for_instance(key, "COMPLETED")
        # the last variables the instance writes; wait until Operate has imported them too
        variables = await operate.wait_for_variables(key, ["dmsLocation", "documentId", "employeeId", "hrSync"])
        assert json.loads(variables["dmsLocation"]).endswith(".pdf")
        # what Operate shows contains no personal data outside the allow-list and no token
        shown = json.dumps(variables)
        assert "grace.hopper@example.com" not in shown and "Arlington" not in shown
