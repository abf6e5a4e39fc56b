"""The gateway stub plus what we know about the connection.

* ``ok()`` after every answered call: readiness ("connected recently") and the end of an auth episode;
* ``on_error(code)``: on UNAUTHENTICATED / PERMISSION_DENIED the OAuth token is refreshed once (a
  rotated secret or a revoked token); further auth errors only back off until a call succeeds again.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import structlog

from workers.jobs import status

log = structlog.get_logger(__name__)


class Gateway:
    def __init__(self, stub: Any, refresh_token: Callable[[], Awaitable[None]] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.stub = stub
        self._refresh_token = refresh_token
        self._clock = clock
        self.last_ok: float | None = None
        self._refreshed = False
        self.token_refreshes = 0

    def ok(self) -> None:
        self.last_ok = self._clock()
        self._refreshed = False

    def ready(self, window_s: float) -> bool:
        return self.last_ok is not None and self._clock() - self.last_ok <= window_s

    async def on_error(self, code: grpc.StatusCode | None) -> None:
        if code not in status.AUTH or self._refresh_token is None or self._refreshed:
            return
        self._refreshed = True
        self.token_refreshes += 1
        log.warning("zeebe_token_refresh", status=status.name_of(code))
        try:
            await self._refresh_token()
        except Exception as exc:  # the refresh's own failure is one more reason to back off
            log.warning("zeebe_token_refresh_failed", error_type=type(exc).__name__)
