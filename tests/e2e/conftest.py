from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pyzeebe import ZeebeClient, create_insecure_channel

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"


@pytest.fixture(scope="session")
async def zeebe_client(zeebe_address: str) -> AsyncIterator[ZeebeClient]:
    channel = create_insecure_channel(grpc_address=zeebe_address)
    client = ZeebeClient(channel)
    await client.deploy_resource(*[str(p) for p in sorted(BPMN_DIR.glob("*.bpmn"))])
    yield client
    await channel.close()


async def eventually(check, timeout: float = 30.0, interval: float = 0.5):
    """Poll ``check`` (async, returns a truthy value when done) until it succeeds or time runs out."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last result: {result!r})")
        await asyncio.sleep(interval)
