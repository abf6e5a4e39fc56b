"""Foundation round trips on the real engine: deploy, start, a worker completes the job, read the result."""

from __future__ import annotations

import asyncio
import logging

import pytest
from pyzeebe import ZeebeClient, create_insecure_channel

from tests.e2e.conftest import instance_log
from tests.e2e.nda_env import LogCollector
from workers.config import WorkerSettings
from workers.tasks import ping
from workers.worker import build_worker

pytestmark = pytest.mark.e2e


async def test_ping_round_trip_on_the_real_engine(zeebe_address: str, zeebe_client: ZeebeClient) -> None:
    collector = LogCollector()
    logging.getLogger().addHandler(collector)
    channel = create_insecure_channel(grpc_address=zeebe_address)
    worker = build_worker(channel, deps=None, settings=WorkerSettings(name="e2e-ping"), specs=[ping.SPEC])
    work = asyncio.create_task(worker.work())
    try:
        result = await zeebe_client.run_process_with_result(
            "contract-ping", variables={"message": "hello"}, timeout=120_000
        )
    finally:
        await worker.stop()
        work.cancel()
        await asyncio.gather(work, return_exceptions=True)
        await channel.close()
        logging.getLogger().removeHandler(collector)
    assert result.variables["pong"] == "olleh"
    assert result.variables["workerVersion"]
    assert result.variables["message"] == "hello"
    # the instance whose key we were given is the one our worker's job belonged to
    events = [(e.get("event"), e.get("task_type")) for e in instance_log(collector.lines, result.process_instance_key)]
    assert ("job_completed", "contract.ping") in events, events
