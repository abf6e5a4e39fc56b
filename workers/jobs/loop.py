"""What the poller and the streamer share: how to react to a failed call, and a liveness tick."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
import structlog

from workers.jobs import status
from workers.jobs.backoff import Backoff
from workers.jobs.gateway import Gateway
from workers.tasks import metrics

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class TypeConfig:
    """What the gateway needs to activate jobs of one type for us."""

    type: str
    worker: str
    timeout_ms: int
    fetch_variables: tuple[str, ...]


class Loop:
    """A forever loop (poller or streamer) with a liveness tick."""

    kind = "loop"

    def __init__(self, config: TypeConfig, gateway: Gateway, backoff: Backoff, quiet_bound_s: float,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:  # fmt: skip
        self.config = config
        self.gateway = gateway
        self.backoff = backoff
        self.quiet_bound_s = quiet_bound_s
        self._sleep = sleep
        self.last_tick = time.monotonic()
        self.waiting_for_slots = False

    def tick(self) -> None:
        self.last_tick = time.monotonic()

    def stalled(self, now: float) -> bool:
        return not self.waiting_for_slots and now - self.last_tick > self.quiet_bound_s

    async def on_error(self, exc: grpc.aio.AioRpcError) -> None:
        """Back off (jittered, growing) after a failed call; never gives up."""
        code = exc.code()
        metrics.GATEWAY_ERRORS.labels(self.config.type, self.kind, status.name_of(code)).inc()
        await self.gateway.on_error(code)
        delay = self.backoff.next()
        fields = {"task_type": self.config.type, "loop": self.kind, "status": status.name_of(code),
                  "delay_ms": int(delay * 1000), "attempt": self.backoff.attempt}  # fmt: skip
        if code in status.RETRY or code in status.AUTH:
            # Expected during engine restarts and back-pressure: one line when it starts, a warning
            # when it lasts, then one every 20 attempts (14 loops in a worker would flood the log).
            attempt = self.backoff.attempt
            if attempt == 1:
                log.info("job_loop_backoff", **fields)
            elif attempt == 5 or (attempt > 5 and attempt % 20 == 0):
                log.warning("job_loop_backoff", **fields)
            else:
                log.debug("job_loop_backoff", **fields)
        else:
            log.error("job_loop_error", **fields)
        await self._sleep(delay)
        self.tick()
