"""Run the HubSpot CRM sandbox with uvicorn: ``serve()`` for the CLI / an asyncio task, ``HubSpotSandboxServer`` for tests.

Everything but the app comes from ``workers.sandbox.server`` (socket binding, uvicorn config, life cycle).
"""

from __future__ import annotations

import socket
from typing import Any

import httpx
import uvicorn

from workers.crm.settings import HubSpotSandboxSettings, crm_sandbox
from workers.sandbox.hubspot.app import create_app
from workers.sandbox.hubspot.state import CrmSandboxState
from workers.sandbox.server import SandboxServer, _Settable, serve_app


async def serve(
    settings: HubSpotSandboxSettings | None = None,
    state: CrmSandboxState | None = None,
    ready_event: _Settable | None = None,
    *,
    sock: socket.socket | None = None,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
    log_level: str = "info",
    server_holder: list[uvicorn.Server] | None = None,
) -> None:
    """Serve the sandbox until stopped (see ``workers.sandbox.server.serve_app``)."""
    settings = settings or crm_sandbox()
    await serve_app(create_app(settings, state, webhook_transport=webhook_transport), settings, ready_event,
                    sock=sock, log_level=log_level, server_holder=server_holder, label="hubspot")  # fmt: skip


class HubSpotSandboxServer(SandboxServer):
    """The HubSpot CRM sandbox on a real loopback port, in a background thread."""

    label = "hubspot"
    settings: HubSpotSandboxSettings  # type: ignore[assignment]
    state: CrmSandboxState  # type: ignore[assignment]

    def __init__(
        self,
        settings: HubSpotSandboxSettings | None = None,
        state: CrmSandboxState | None = None,
        *,
        port: int | None = None,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
        log_level: str = "warning",
    ) -> None:
        super().__init__(settings or crm_sandbox(), state or CrmSandboxState(),  # type: ignore[arg-type]
                         port=port, webhook_transport=webhook_transport, log_level=log_level)  # fmt: skip

    def app(self, settings: Any) -> Any:
        return create_app(settings, self.state, webhook_transport=self._webhook_transport)
