from __future__ import annotations

import httpx

from workers.sandbox.server import SandboxServer

from .support import CLIENT_ID, CLIENT_SECRET, SETTINGS


def test_sandbox_server_answers_on_a_real_loopback_port() -> None:
    server = SandboxServer(SETTINGS, port=0)
    server.start(timeout=10)
    try:
        assert server.port != 0
        with httpx.Client(base_url=server.base_url, trust_env=False, timeout=5) as client:
            response = client.post(
                "/oauth/token",
                data={"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
            )
            assert response.status_code == 200
            assert response.json()["token_type"] == "Bearer"
        assert server.state.counters["token_requests"] == 1
    finally:
        server.stop()
    with httpx.Client(trust_env=False, timeout=1) as client:
        try:
            client.get(server.base_url + "/_sandbox/health")
        except httpx.ConnectError:
            pass
        else:
            raise AssertionError("the server still answers after stop()")
