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

from .support import PROVIDER, SECRET, FakePublisher, signed, verifiers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_bridge_server_in_the_running_loop(settings: BridgeSettings):
    publisher = FakePublisher()
    app = create_app(publisher, verifiers(), settings)

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
    app = create_app(publisher, verifiers(), settings)

    with BridgeServer(app) as server:
        url = server.url
        body, headers = signed()
        with httpx.Client(base_url=url, trust_env=False) as client:
            assert client.post(f"/webhooks/{PROVIDER}", content=body, headers=headers).status_code == 202

    assert [c.message_id for c in publisher.calls] == ["evt_0001"]
    with pytest.raises(httpx.ConnectError), httpx.Client(trust_env=False) as client:
        client.get(f"{url}/healthz")


async def test_bridge_server_refuses_a_taken_port(settings: BridgeSettings):
    app = create_app(FakePublisher(), verifiers(), settings)
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


async def raw_exchange(url_host: str, port: int, request: bytes) -> bytes:
    """Send ``request`` as is and read until the server closes the connection (generous bound)."""
    reader, writer = await asyncio.open_connection(url_host, port)
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 60)
    finally:
        writer.close()


async def test_content_length_larger_than_sent_is_408_over_a_real_socket():
    # The client announces 1,000 bytes and sends 10: the bridge must not wait for the rest for ever.
    settings = BridgeSettings(body_timeout_s=0.3, max_body_bytes=4096, message_ttl_s=600)
    publisher = FakePublisher()
    async with BridgeServer(create_app(publisher, verifiers(), settings)) as server:
        body, headers = signed()
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        request = (
            f"POST /webhooks/{PROVIDER} HTTP/1.1\r\nHost: bridge\r\n{head}Content-Length: 1000\r\n\r\n"
        ).encode() + body[:10]

        answer = await raw_exchange(server.host, server.port, request)

        status_line = answer.split(b"\r\n", 1)[0]
        assert status_line == b"HTTP/1.1 408 Request Timeout", answer[:200]
        assert b'"error":"body_timeout"' in answer
        # The server still serves others afterwards.
        async with httpx.AsyncClient(base_url=server.url, trust_env=False) as client:
            ok = await client.post(f"/webhooks/{PROVIDER}", content=body, headers=headers)
    assert publisher.calls and [c.message_id for c in publisher.calls] == ["evt_0001"]
    assert ok.status_code == 202


async def test_run_bridge_builds_its_verifiers_from_the_settings_and_limits_connections():
    port = free_port()
    settings = BridgeSettings(host="127.0.0.1", port=port, max_connections=2)
    channel = create_insecure_channel(grpc_address="127.0.0.1:9")
    stop = asyncio.Event()
    provider = ProviderSettings(webhook_secret=SECRET, callback_url=f"http://127.0.0.1:{port}/webhooks/{PROVIDER}")
    task = asyncio.create_task(
        run_bridge(settings, provider, channel, request_timeout_s=2.0, graceful_timeout_s=1, stop=stop)
    )
    idle: asyncio.StreamWriter | None = None
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False) as client:
            for _ in range(3000):
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.ConnectError:
                    await asyncio.sleep(0.02)
            else:
                pytest.fail("bridge did not start")
            forged, forged_headers = signed(secret="forged-with-another-secret-000")
            assert (await client.post(f"/webhooks/{PROVIDER}", content=forged, headers=forged_headers)).status_code == 401
        # uvicorn's backstop: with another connection held open, a new request gets its plain 503.
        _, idle = await asyncio.open_connection("127.0.0.1", port)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False) as client:
            assert (await client.get("/healthz")).status_code == 503
    finally:
        if idle is not None:
            idle.close()
        stop.set()
        await asyncio.wait_for(task, 30)
        await channel.close()
    assert task.exception() is None
