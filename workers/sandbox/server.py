"""Run the sandbox with uvicorn: ``serve()`` for the CLI / an asyncio task, ``SandboxServer`` for tests.

``SandboxServer`` runs uvicorn in a background thread with its own event loop, binds the socket itself
(``port=0`` picks a free loopback port without a race) and ``start()`` returns once the port answers.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import threading
import time
from typing import Any, Protocol

import httpx
import structlog
import uvicorn

from workers.config import SandboxSettings
from workers.config import sandbox as sandbox_settings
from workers.sandbox.app import create_app
from workers.sandbox.state import SandboxState

log = structlog.get_logger(__name__)


class _Settable(Protocol):
    def set(self) -> None: ...


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _uvicorn_server(app: Any, settings: SandboxSettings, log_level: str) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        lifespan="on",
        log_config=None,  # our structlog setup (workers.logs) owns the handlers
        log_level=log_level,
        access_log=False,  # access lines carry signed download URLs
        server_header=False,
        timeout_graceful_shutdown=2,
    )
    return uvicorn.Server(config)


async def _signal_when_started(server: uvicorn.Server, ready_event: _Settable | None) -> None:
    while not server.started:
        if server.should_exit:
            return
        await asyncio.sleep(0.01)
    if ready_event is not None:
        ready_event.set()


async def serve_app(
    app: Any,
    settings: Any,
    ready_event: _Settable | None = None,
    *,
    sock: socket.socket | None = None,
    log_level: str = "info",
    server_holder: list[uvicorn.Server] | None = None,
    label: str = "contractize",
) -> None:
    """Serve ``app`` on ``settings.host:settings.port`` (or on ``sock``) until stopped; any sandbox.

    ``ready_event`` (an ``asyncio.Event`` or a ``threading.Event``) is set once the server accepts
    connections. Cancel the task, send SIGINT/SIGTERM (main thread) or set ``should_exit`` on the
    ``uvicorn.Server`` appended to ``server_holder`` to stop it.
    """
    server = _uvicorn_server(app, settings, log_level)
    if server_holder is not None:
        server_holder.append(server)
    watcher = asyncio.create_task(_signal_when_started(server, ready_event))
    address = sock.getsockname() if sock is not None else (settings.host, settings.port)
    log.info("sandbox.serving", sandbox=label, host=address[0], port=address[1])
    if not _is_loopback(str(address[0])):
        log.warning("sandbox.not_loopback", host=address[0], hint="the /_sandbox control plane has no auth")
    try:
        await server.serve(sockets=[sock] if sock is not None else None)
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)


async def serve(
    settings: SandboxSettings | None = None,
    state: SandboxState | None = None,
    ready_event: _Settable | None = None,
    *,
    sock: socket.socket | None = None,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
    log_level: str = "info",
    server_holder: list[uvicorn.Server] | None = None,
) -> None:
    """The Contractize sandbox (``serve_app`` with its app)."""
    settings = settings or sandbox_settings()
    await serve_app(create_app(settings, state, webhook_transport=webhook_transport), settings, ready_event,
                    sock=sock, log_level=log_level, server_holder=server_holder)  # fmt: skip


class SandboxServer:
    """A sandbox on a real loopback port, in a background thread (for tests and dev tools).

    This class serves the Contractize sandbox; the other sandboxes subclass it, setting ``label`` and
    ``app()`` (their settings and state come in through ``__init__``).

    >>> with SandboxServer(port=0) as server:   # doctest: +SKIP
    ...     httpx.get(server.base_url + "/_sandbox/health")
    """

    # What a sandbox declares (the other sandboxes override these four; see bamboohr/server.py).
    label = "contractize"
    default_settings: Any = staticmethod(sandbox_settings)
    new_state: Any = SandboxState
    create_app: Any = staticmethod(create_app)

    def app(self, settings: Any) -> Any:
        """The ASGI app to serve (called in the server's thread, with the bound port in ``settings``)."""
        return self.create_app(settings, self.state, webhook_transport=self._webhook_transport)

    @classmethod
    async def serve(cls, settings: Any = None, state: Any = None, ready_event: _Settable | None = None, *,
                    sock: socket.socket | None = None, webhook_transport: httpx.AsyncBaseTransport | None = None,
                    log_level: str = "info", server_holder: list[uvicorn.Server] | None = None) -> None:  # fmt: skip
        """Serve this sandbox until stopped, in the running event loop (the CLI, ``python -m``)."""
        settings = settings or cls.default_settings()
        app = cls.create_app(settings, state, webhook_transport=webhook_transport)
        await serve_app(app, settings, ready_event, sock=sock, log_level=log_level, server_holder=server_holder,
                        label=cls.label)  # fmt: skip

    def __init__(
        self,
        settings: SandboxSettings | None = None,
        state: SandboxState | None = None,
        *,
        port: int | None = None,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
        log_level: str = "warning",
    ) -> None:
        self.settings = settings or self.default_settings()
        self.state = state or self.new_state()
        self._port = self.settings.port if port is None else port
        self._webhook_transport = webhook_transport
        self._log_level = log_level
        self._thread: threading.Thread | None = None
        self._servers: list[uvicorn.Server] = []
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._sock: socket.socket | None = None
        self._bound_port: int | None = None

    @property
    def host(self) -> str:
        return self.settings.host

    @property
    def port(self) -> int:
        return self._bound_port if self._bound_port is not None else self._port

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, timeout: float = 10.0) -> "SandboxServer":
        if self._thread is not None:
            raise RuntimeError(f"the {self.label} sandbox server is already running")
        self._sock = bind_socket(self.host, self._port)
        self._bound_port = self._sock.getsockname()[1]
        settings = self.settings.model_copy(update={"port": self.port})
        self._ready.clear()
        self._error = None

        def run() -> None:
            try:
                asyncio.run(serve_app(self.app(settings), settings, self._ready, sock=self._sock,
                                      log_level=self._log_level, server_holder=self._servers, label=self.label))
            except BaseException as exc:  # reported by start()
                self._error = exc

        self._thread = threading.Thread(target=run, name=f"sandbox-{self.label}:{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._error is not None or not self._thread.is_alive():
                self._cleanup()
                raise RuntimeError(f"the {self.label} sandbox server did not start: {self._error!r}")
            if self._ready.is_set() and self._port_answers():
                return self
            time.sleep(0.02)
        self.stop()
        raise TimeoutError(f"the {self.label} sandbox server did not answer on {self.base_url} within {timeout}s")

    def _port_answers(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def stop(self, timeout: float = 10.0) -> None:
        for server in self._servers:
            server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        self._cleanup()

    def _cleanup(self) -> None:
        self._thread = None
        self._servers.clear()
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
