"""Run the SpotDraft sandbox with uvicorn: ``serve()`` for the CLI / an asyncio task, ``SpotDraftSandboxServer`` for tests.

Everything but the app comes from ``workers.sandbox.server`` (socket binding, uvicorn config, life cycle).
"""

from __future__ import annotations

import socket
from typing import Any

import httpx
import uvicorn

from workers.providers.spotdraft.settings import SpotDraftSandboxSettings, spotdraft_sandbox
from workers.sandbox.spotdraft.app import create_app
from workers.sandbox.spotdraft.state import SdSandboxState
from workers.sandbox.server import SandboxServer, _Settable, serve_app


async def serve(
    settings: SpotDraftSandboxSettings | None = None,
    state: SdSandboxState | None = None,
    ready_event: _Settable | None = None,
    *,
    sock: socket.socket | None = None,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
    log_level: str = "info",
    server_holder: list[uvicorn.Server] | None = None,
) -> None:
    """Serve the sandbox until stopped (see ``workers.sandbox.server.serve_app``)."""
    settings = settings or spotdraft_sandbox()
    await serve_app(create_app(settings, state, webhook_transport=webhook_transport), settings, ready_event,
                    sock=sock, log_level=log_level, server_holder=server_holder, label="spotdraft")  # fmt: skip


class SpotDraftSandboxServer(SandboxServer):
    """The SpotDraft sandbox on a real loopback port, in a background thread."""

    label = "spotdraft"
    settings: SpotDraftSandboxSettings  # type: ignore[assignment]
    state: SdSandboxState  # type: ignore[assignment]

    def __init__(
        self,
        settings: SpotDraftSandboxSettings | None = None,
        state: SdSandboxState | None = None,
        *,
        port: int | None = None,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
        log_level: str = "warning",
    ) -> None:
        super().__init__(settings or spotdraft_sandbox(), state or SdSandboxState(),  # type: ignore[arg-type]
                         port=port, webhook_transport=webhook_transport, log_level=log_level)  # fmt: skip

    def app(self, settings: Any) -> Any:
        return create_app(settings, self.state, webhook_transport=self._webhook_transport)
