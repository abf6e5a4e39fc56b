"""Foundation round trips on the real engine: deploy, start, a worker completes the job, read the result."""

from __future__ import annotations

import asyncio

import pytest
from pyzeebe import ZeebeClient, create_insecure_channel

from workers.config import WorkerSettings
from workers.tasks import ping
from workers.worker import build_worker

pytestmark = pytest.mark.e2e


async def test_ping_round_trip_on_the_real_engine(zeebe_address: str, zeebe_client: ZeebeClient) -> None:
    channel = create_insecure_channel(grpc_address=zeebe_address)
    worker = build_worker(channel, deps=None, settings=WorkerSettings(name="e2e-ping"), specs=[ping.SPEC])
    work = asyncio.create_task(worker.work())
    try:
        result = await zeebe_client.run_process_with_result(
            "contract-ping", variables={"message": "hello"}, timeout=30_000
        )
    finally:
        await worker.stop()
        work.cancel()
        await asyncio.gather(work, return_exceptions=True)
        await channel.close()
    assert result.variables["pong"] == "olleh"
    assert result.variables["workerVersion"]
    assert result.variables["message"] == "hello"
    assert result.process_instance_key > 0
