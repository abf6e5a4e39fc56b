"""Run ASGI apps (bridge, sandbox) inside a process that owns its signals (``dev``, tests).

uvicorn's ``Server.serve`` installs its own SIGINT/SIGTERM handlers and re-raises them on exit; a
process that runs several servers plus a worker wants one shutdown path, so these servers leave
signals alone and stop when ``should_exit`` is set.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import uvicorn


class EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def embedded_server(app: Any, host: str, port: int, graceful_timeout_s: int = 5) -> EmbeddedServer:
    return EmbeddedServer(
        uvicorn.Config(
            app, host=host, port=port, log_config=None, access_log=False, lifespan="on",
            timeout_graceful_shutdown=graceful_timeout_s,
        )
    )  # fmt: skip
