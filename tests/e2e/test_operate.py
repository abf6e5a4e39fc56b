"""What an operator sees: an instance run on the full stack shows up in Operate as COMPLETED."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from pyzeebe import ZeebeClient, create_insecure_channel

from tests.e2e.conftest import BPMN_DIR, eventually
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
        result = await client.run_process_with_result("contract-ping", variables={"message": "operate"}, timeout=30_000)
    finally:
        await worker.stop()
        work.cancel()
        await asyncio.gather(work, return_exceptions=True)
        await channel.close()

    async with OperateClient(full_engine.rest_url) as operate:
        async def completed():
            instance = await operate.process_instance(result.process_instance_key)
            return instance if instance and instance.get("state") == "COMPLETED" else None

        instance = await eventually(completed, timeout=60)
        assert instance["bpmnProcessId"] == "contract-ping"
        variables = await operate.variables(result.process_instance_key)
        assert json.loads(variables["pong"]) == "etarepo"
        assert await operate.process_definitions("contract-ping")


async def test_provider_down_becomes_a_clear_incident_and_completes_after_retry(full_engine, tmp_path) -> None:
    from tests.e2e.nda_env import EMPLOYEE, nda_env
    from workers.zeebe import retry_incident

    client = ZeebeClient(create_insecure_channel(grpc_address=full_engine.address))
    await client.deploy_resource(*[str(p) for p in sorted(BPMN_DIR.glob("*.bpmn"))])
    async with nda_env(full_engine.address, tmp_path) as env, OperateClient(full_engine.rest_url) as operate:
        employee = {**EMPLOYEE, "id": "E-DOWN"}
        # the provider answers the template and token calls, then goes down before generation
        created = await env.client.run_process("employee-nda", variables={"employee": employee})
        key = created.process_instance_key

        async def generating():
            return env.state.counters.get("token_requests", 0) >= 1

        await eventually(generating, timeout=30, interval=0.1)
        env.faults(down=True)

        async def incident():
            items = await operate.incidents(key)
            return items[0] if items else None

        found = await eventually(incident, timeout=120, interval=1)
        message = found["message"]
        # an operator can act on it: what failed, where, and what to do next
        assert "unavailable" in message and "HTTP 503" in message, message
        assert "no retries left" in message, message
        for secret in ("Bearer", env.provider_settings.client_secret.get_secret_value()):
            assert secret not in message

        env.faults(down=False)
        await retry_incident(env.channel, job_key=found["jobKey"], incident_key=found["key"], retries=2)

        async def completed():
            instance = await operate.process_instance(key)
            return instance if instance and instance.get("state") == "COMPLETED" else None

        await eventually(completed, timeout=90, interval=1)
        variables = await operate.variables(key)
        assert json.loads(variables["dmsLocation"]).endswith(".pdf")
        # what Operate shows contains no personal data outside the allow-list and no token
        shown = json.dumps(variables)
        assert "grace.hopper@example.com" not in shown and "Arlington" not in shown
