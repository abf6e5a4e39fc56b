from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pyzeebe import ZeebeClient, create_insecure_channel

from workers.deployables import deployables

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"


async def deploy_all(client: ZeebeClient, timeout: float = 120.0) -> None:
    """Deploy ``bpmn/``; a gateway that times out or is not ready yet (a busy machine, a broker that has
    just become leader) is asked again until ``timeout``: deploying is idempotent."""
    from pyzeebe.errors import ZeebeBackPressureError, ZeebeDeadlineExceeded, ZeebeGatewayUnavailableError

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            await client.deploy_resource(*[str(p) for p in deployables(BPMN_DIR)])
            return
        except (ZeebeDeadlineExceeded, ZeebeGatewayUnavailableError, ZeebeBackPressureError):
            if loop.time() > deadline:
                raise
            await asyncio.sleep(2.0)


@pytest.fixture(scope="session")
async def zeebe_client(zeebe_address: str) -> AsyncIterator[ZeebeClient]:
    channel = create_insecure_channel(grpc_address=zeebe_address)
    client = ZeebeClient(channel, max_connection_retries=-1)
    await deploy_all(client)
    yield client
    await channel.close()


async def eventually(check, timeout: float = 60.0, interval: float = 0.5, until=bool, what: str | None = None):
    """Poll ``check`` (async or sync) until ``until(result)`` holds (default: the result is truthy).

    An exception raised by ``check`` counts as "not yet" and is kept as the last thing seen; the failure
    message names what was awaited and the last result (or exception) seen, never just "timed out".
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    name = what or getattr(check, "__name__", repr(check))
    last: object = "nothing (no check completed)"
    while True:
        try:
            result = check()
            if inspect.isawaitable(result):
                result = await result
        except AssertionError:
            raise
        except Exception as exc:  # not there yet (KeyError, an HTTP error…): keep polling
            last = f"{type(exc).__name__}: {exc}"
        else:
            if until(result):
                return result
            last = result
        if loop.time() >= deadline:
            raise AssertionError(f"{name}: not met within {timeout:.0f}s; last seen: {last!r}")
        await asyncio.sleep(interval)


def instance_log(lines: list[str], process_instance_key: int) -> list[dict]:
    """The JSON log lines (as a ``LogCollector`` holds them) bound to one process instance."""
    found = []
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and event.get("process_instance_key") == process_instance_key:
            found.append(event)
    return found
