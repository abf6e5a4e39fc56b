"""``/metrics``, ``/healthz`` (the loops are progressing) and ``/readyz`` (the gateway answered recently).

Liveness and readiness are apart on purpose: an engine that is away makes the worker unready (take it
out of rotation, alert) but not dead (restarting it would not bring the engine back).
"""

from __future__ import annotations

import asyncio
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from workers.serving import EmbeddedServer, embedded_server


def create_app(worker: Any) -> Starlette:
    async def metrics(_: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    async def healthz(_: Request) -> Response:
        ok, why = worker.alive()
        return JSONResponse({"status": "ok" if ok else "failing", "detail": why}, status_code=200 if ok else 503)

    async def readyz(_: Request) -> Response:
        ok, why = worker.ready()
        return JSONResponse({"status": "ready" if ok else "unready", "detail": why}, status_code=200 if ok else 503)

    return Starlette(routes=[Route("/metrics", metrics), Route("/healthz", healthz), Route("/readyz", readyz)])


class HealthServer:
    """The app on ``host:port`` (port 0 = any free port, see ``port`` once started)."""

    def __init__(self, worker: Any, host: str, port: int) -> None:
        self.server: EmbeddedServer = embedded_server(create_app(worker), host, port, graceful_timeout_s=1)
        self._task: asyncio.Task[Any] | None = None

    @property
    def port(self) -> int | None:
        servers = getattr(self.server, "servers", None) or []
        for server in servers:
            for sock in server.sockets:
                return sock.getsockname()[1]
        return None

    async def start(self) -> None:
        self._task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            if self._task.done():
                self._task.result()  # port in use: raise it
                raise RuntimeError("the health server could not start")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._task is None:
            return
        self.server.should_exit = True
        await asyncio.gather(self._task, return_exceptions=True)
