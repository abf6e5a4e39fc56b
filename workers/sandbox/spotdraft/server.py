"""Run the SpotDraft sandbox with uvicorn: ``serve()`` for the CLI / an asyncio task,
``SpotDraftSandboxServer`` for tests.

Reuses ``workers.sandbox.server`` (socket binding, the uvicorn config, the start watcher and the whole
``SandboxServer`` life cycle). Only ``start()`` is re-implemented here: ``SandboxServer.start`` calls that
module's own ``serve()``, which builds the contract sandbox's app.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import httpx
import structlog
import uvicorn

from workers.providers.spotdraft.settings import SpotDraftSandboxSettings, spotdraft_sandbox
from workers.sandbox.server import (
    SandboxServer,
    _is_loopback,
    _Settable,
    _signal_when_started,
    _uvicorn_server,
    bind_socket,
)
from workers.sandbox.spotdraft.app import create_app
from workers.sandbox.spotdraft.state import SdSandboxState

log = structlog.get_logger(__name__)


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
    """Serve the sandbox on ``settings.host:settings.port`` (or on ``sock``) until stopped; see
    ``workers.sandbox.server.serve`` for ``ready_event`` and ``server_holder``."""
    settings = settings or spotdraft_sandbox()
    app = create_app(settings, state, webhook_transport=webhook_transport)
    server = _uvicorn_server(app, settings, log_level)  # type: ignore[arg-type]  # uses host/port only
    if server_holder is not None:
        server_holder.append(server)
    watcher = asyncio.create_task(_signal_when_started(server, ready_event))
    address = sock.getsockname() if sock is not None else (settings.host, settings.port)
    log.info("sandbox.spotdraft_serving", host=address[0], port=address[1])
    if not _is_loopback(str(address[0])):
        log.warning("sandbox.not_loopback", host=address[0], hint="the /_sandbox control plane has no auth")
    try:
        await server.serve(sockets=[sock] if sock is not None else None)
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)


class SpotDraftSandboxServer(SandboxServer):
    """The SpotDraft sandbox on a real loopback port, in a background thread.

    >>> with SpotDraftSandboxServer(port=0) as server:   # doctest: +SKIP
    ...     httpx.get(server.base_url + "/_sandbox/health")
    """

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
        super().__init__(
            settings or spotdraft_sandbox(),  # type: ignore[arg-type]
            state or SdSandboxState(),  # type: ignore[arg-type]
            port=port,
            webhook_transport=webhook_transport,
            log_level=log_level,
        )

    def start(self, timeout: float = 10.0) -> "SpotDraftSandboxServer":
        # As ``SandboxServer.start``, with this module's ``serve``.
        if self._thread is not None:
            raise RuntimeError("the SpotDraft sandbox server is already running")
        self._sock = bind_socket(self.host, self._port)
        self._bound_port = self._sock.getsockname()[1]
        settings = self.settings.model_copy(update={"port": self.port})
        self._ready.clear()
        self._error = None

        def run() -> None:
            try:
                asyncio.run(
                    serve(
                        settings, self.state, self._ready, sock=self._sock, webhook_transport=self._webhook_transport,
                        log_level=self._log_level, server_holder=self._servers,
                    )
                )  # fmt: skip
            except BaseException as exc:  # reported by start()
                self._error = exc

        self._thread = threading.Thread(target=run, name=f"spotdraft-sandbox:{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._error is not None or not self._thread.is_alive():
                self._cleanup()
                raise RuntimeError(f"the SpotDraft sandbox server did not start: {self._error!r}")
            if self._ready.is_set() and self._port_answers():
                return self
            time.sleep(0.02)
        self.stop()
        raise TimeoutError(f"the SpotDraft sandbox server did not answer on {self.base_url} within {timeout}s")

    def __enter__(self) -> "SpotDraftSandboxServer":
        return self.start()
