"""Serving the bridge with uvicorn, programmatically.

* ``run_bridge(bridge_settings, provider_settings, zeebe_channel, verifiers=...)`` — the production entry
  point: builds the ``ZeebeClient`` on the given channel (the caller owns and closes the channel), the
  ``ZeebePublisher`` and the app, and serves on ``BRIDGE_HOST:BRIDGE_PORT`` until SIGINT/SIGTERM (or the
  optional ``stop`` event), letting in-flight deliveries finish (graceful shutdown). Without
  ``verifiers`` it builds them from the provider settings (``auth.build_verifiers``; dev values refused).
  uvicorn's ``limit_concurrency`` is ``BRIDGE_MAX_CONNECTIONS``: past that many open connections (or
  requests) every new request gets uvicorn's plain 503 — a backstop behind the app's own
  ``BRIDGE_MAX_CONCURRENCY`` limit, which answers 503 + Retry-After.
* ``BridgeServer`` — a helper for tests: serves a given app on a real socket (port 0 = a free port),
  either as a task in the running loop (``async with``) or in a background thread (``with``), waits
  until ``/healthz`` answers, and stops cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

import grpc
import httpx
import structlog
import uvicorn
from pyzeebe import ZeebeClient
from starlette.types import ASGIApp

from workers import config
from workers.bridge.app import create_app
from workers.bridge.auth import DEFAULT_PROVIDER, build_verifiers, provider_name
from workers.bridge.publisher import ZeebePublisher
from workers.config import BridgeSettings, ProviderSettings
from workers.signing import WebhookVerifier

__all__ = ["DEFAULT_PROVIDER", "BridgeServer", "BridgeStartError", "provider_name", "run_bridge"]

log = structlog.get_logger(__name__)

class BridgeStartError(RuntimeError):
    """The bridge could not start (typically: the port is taken)."""


def _uvicorn_config(
    app: ASGIApp, host: str, port: int, graceful_timeout_s: int, limit_concurrency: int | None = None
) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,  # keep workers.logs' structlog setup; uvicorn's lines go through it
        access_log=False,  # the app logs one structured line per delivery itself
        server_header=False,
        lifespan="auto",
        timeout_graceful_shutdown=graceful_timeout_s,
        limit_concurrency=limit_concurrency,
    )


async def run_bridge(
    settings: BridgeSettings,
    provider: ProviderSettings,
    zeebe_channel: grpc.aio.Channel,
    *,
    verifiers: Mapping[str, WebhookVerifier] | None = None,
    request_timeout_s: float | None = None,
    graceful_timeout_s: int = 10,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve the bridge until SIGINT/SIGTERM (or ``stop``) arrives; the caller closes the channel.

    ``verifiers`` (provider name -> verifier) defaults to ``build_verifiers(provider, dev=False)``;
    ``request_timeout_s`` to ``ZEEBE_REQUEST_TIMEOUT_S``.
    """
    if verifiers is None:
        verifiers = build_verifiers(provider, dev=False)
    if request_timeout_s is None:
        request_timeout_s = config.zeebe().zeebe_request_timeout_s
    # -1: never give up on the channel; an engine restart must not leave the bridge answering 503 forever.
    client = ZeebeClient(zeebe_channel, max_connection_retries=-1)
    publisher = ZeebePublisher(client, request_timeout_s=request_timeout_s)
    app = create_app(publisher, verifiers, settings)
    server = uvicorn.Server(
        _uvicorn_config(app, settings.host, settings.port, graceful_timeout_s, settings.max_connections)
    )

    watcher: asyncio.Task[None] | None = None
    if stop is not None:

        async def _exit_when_stopped() -> None:
            await stop.wait()
            server.should_exit = True

        watcher = asyncio.create_task(_exit_when_stopped())
    keys = {name: getattr(source, "verifier", source).key_count for name, source in sorted(verifiers.items())}
    log.info("bridge.starting", host=settings.host, port=settings.port, providers=sorted(verifiers), secrets=keys)
    try:
        await server.serve()
    except SystemExit as exc:  # uvicorn exits the process when it cannot bind
        raise BridgeStartError(f"bridge could not start on {settings.host}:{settings.port}") from exc
    finally:
        if watcher is not None:
            watcher.cancel()
    log.info("bridge.stopped")


class _TestServer(uvicorn.Server):
    """uvicorn without signal handling: the test runner owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class BridgeServer:
    """Serve an ASGI app (normally ``create_app(...)``) on a real port for tests.

    Async (the app's publisher shares the test's event loop, e.g. a grpc.aio channel)::

        async with BridgeServer(app) as srv:
            httpx.post(f"{srv.url}/webhooks/contractize", ...)

    Threaded (only for apps whose publisher is not bound to an event loop)::

        with BridgeServer(app) as srv: ...
    """

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0, graceful_timeout_s: int = 5) -> None:
        self.app = app
        self.host = host
        self._requested_port = port
        self._graceful_timeout_s = graceful_timeout_s
        self._sock: socket.socket | None = None
        self._server: _TestServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None
        self._thread_error: BaseException | None = None

    @property
    def port(self) -> int:
        if self._sock is None:
            raise RuntimeError("BridgeServer is not started")
        return int(self._sock.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _prepare(self) -> tuple[_TestServer, socket.socket]:
        if self._server is not None:
            raise RuntimeError("BridgeServer already started")
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self._requested_port))
        except OSError as exc:
            sock.close()
            raise BridgeStartError(f"cannot bind {self.host}:{self._requested_port}: {exc}") from None
        sock.set_inheritable(True)
        self._sock = sock
        self._server = _TestServer(_uvicorn_config(self.app, self.host, self.port, self._graceful_timeout_s))
        return self._server, sock

    def _cleanup(self) -> None:
        if self._sock is not None:
            self._sock.close()
        self._sock = None
        self._server = None
        self._task = None
        self._thread = None

    # -- in the running event loop -------------------------------------------------------------------

    async def astart(self, timeout: float = 10.0) -> "BridgeServer":
        server, sock = self._prepare()
        self._task = asyncio.create_task(server.serve(sockets=[sock]))
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=1.0, trust_env=False) as client:
            while True:
                if self._task.done():
                    exc = self._task.exception()
                    self._cleanup()
                    raise BridgeStartError(f"bridge server exited during start-up: {exc!r}")
                if server.started:
                    with contextlib.suppress(httpx.HTTPError):
                        if (await client.get(f"{self.url}/healthz")).status_code == 200:
                            return self
                if time.monotonic() > deadline:
                    await self.astop()
                    raise BridgeStartError(f"bridge server did not answer within {timeout:g}s")
                await asyncio.sleep(0.02)

    async def astop(self, timeout: float = 10.0) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except (TimeoutError, asyncio.TimeoutError):
            self._server.force_exit = True
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self._task, 2.0)
        except BaseException:  # a server crash is reported by start(), not by stop()
            pass
        finally:
            self._cleanup()

    async def __aenter__(self) -> "BridgeServer":
        return await self.astart()

    async def __aexit__(self, *exc: Any) -> None:
        await self.astop()

    # -- in a background thread ------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> "BridgeServer":
        server, sock = self._prepare()

        def _run() -> None:
            try:
                asyncio.run(server.serve(sockets=[sock]))
            except BaseException as exc:  # noqa: BLE001 - surfaced by start()
                self._thread_error = exc

        self._thread_error = None
        self._thread = threading.Thread(target=_run, name=f"bridge-server-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=1.0, trust_env=False) as client:
            while True:
                if not self._thread.is_alive():
                    error = self._thread_error
                    self._cleanup()
                    raise BridgeStartError(f"bridge server exited during start-up: {error!r}")
                if server.started:
                    with contextlib.suppress(httpx.HTTPError):
                        if client.get(f"{self.url}/healthz").status_code == 200:
                            return self
                if time.monotonic() > deadline:
                    self.stop()
                    raise BridgeStartError(f"bridge server did not answer within {timeout:g}s")
                time.sleep(0.02)

    def stop(self, timeout: float = 10.0) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(2.0)
        self._cleanup()

    def __enter__(self) -> "BridgeServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
