"""Serving the bridge over a real socket: the ``BridgeServer`` helper and ``run_bridge``."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
from pyzeebe import create_insecure_channel

from workers.bridge.app import create_app
from workers.bridge.server import BridgeServer, BridgeStartError, provider_name, run_bridge
from workers.config import BridgeSettings, ProviderSettings

from .support import PROVIDER, SECRET, FakePublisher, signed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_bridge_server_in_the_running_loop(settings: BridgeSettings):
    publisher = FakePublisher()
    app = create_app(publisher, {PROVIDER: SECRET}, settings)

    async with BridgeServer(app) as server:
        assert server.port > 0
        url = server.url
        async with httpx.AsyncClient(base_url=server.url, trust_env=False) as client:
            body, headers = signed()
            response = await client.post(f"/webhooks/{PROVIDER}", content=body, headers=headers)
            assert response.status_code == 202
            too_big = await client.post(f"/webhooks/{PROVIDER}", content=b"x" * (settings.max_body_bytes + 1))
            assert too_big.status_code == 413
            assert (await client.get("/healthz")).status_code == 200

    assert len(publisher.calls) == 1
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient(trust_env=False) as client:
            await client.get(f"{url}/healthz")


def test_bridge_server_in_a_thread(settings: BridgeSettings):
    publisher = FakePublisher()
    app = create_app(publisher, {PROVIDER: SECRET}, settings)

    with BridgeServer(app) as server:
        url = server.url
        body, headers = signed()
        with httpx.Client(base_url=url, trust_env=False) as client:
            assert client.post(f"/webhooks/{PROVIDER}", content=body, headers=headers).status_code == 202

    assert [c.message_id for c in publisher.calls] == ["evt_0001"]
    with pytest.raises(httpx.ConnectError), httpx.Client(trust_env=False) as client:
        client.get(f"{url}/healthz")


async def test_bridge_server_refuses_a_taken_port(settings: BridgeSettings):
    app = create_app(FakePublisher(), {PROVIDER: SECRET}, settings)
    async with BridgeServer(app) as first:
        with pytest.raises(BridgeStartError):
            await BridgeServer(app, port=first.port).astart()


async def test_run_bridge_serves_until_stopped():
    port = free_port()
    settings = BridgeSettings(host="127.0.0.1", port=port)
    # Nothing listens on port 9: the bridge is alive but not ready, and publishing gives 503.
    channel = create_insecure_channel(grpc_address="127.0.0.1:9")
    stop = asyncio.Event()
    provider = ProviderSettings(webhook_secret=SECRET, callback_url=f"http://127.0.0.1:{port}/webhooks/{PROVIDER}")
    task = asyncio.create_task(
        run_bridge(settings, provider, channel, request_timeout_s=2.0, graceful_timeout_s=1, stop=stop)
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False) as client:
            for _ in range(200):
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.ConnectError:
                    await asyncio.sleep(0.02)
            else:
                pytest.fail("bridge did not start")
            assert (await client.get("/readyz")).status_code == 503
            body, headers = signed()
            response = await client.post(f"/webhooks/{PROVIDER}", content=body, headers=headers)
            assert response.status_code == 503
            assert response.headers["retry-after"] == "5"
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await channel.close()
    assert task.exception() is None


@pytest.mark.parametrize(
    ("callback_url", "expected"),
    [
        ("http://127.0.0.1:8090/webhooks/contractize", "contractize"),
        ("https://workflow.example.com/webhooks/acme/", "acme"),
        ("https://workflow.example.com/contractize/callback", "contractize"),
    ],
)
def test_provider_name_follows_the_callback_url(callback_url: str, expected: str):
    assert provider_name(ProviderSettings(callback_url=callback_url)) == expected
