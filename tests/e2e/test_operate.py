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
