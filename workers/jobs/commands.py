"""Commands on an activated job, retried within the lease.

Back-pressure (RESOURCE_EXHAUSTED), UNAVAILABLE and friends are retried with a jittered exponential
back-off as long as we still hold the job; NOT_FOUND / FAILED_PRECONDITION mean the job is no longer
ours (completed by someone else, timed out and re-activated, cancelled with its instance): that is
"superseded", logged at debug, never an error. Exception text from gRPC is never logged (status names
only): the gateway may quote variables.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import structlog
from pyzeebe.proto.gateway_pb2 import CompleteJobRequest, FailJobRequest, ThrowErrorRequest, UpdateJobTimeoutRequest

from workers.jobs import status
from workers.jobs.backoff import Backoff
from workers.jobs.gateway import Gateway

log = structlog.get_logger(__name__)


class Ack(enum.Enum):
    ACKED = "acked"  # Zeebe accepted the command
    SUPERSEDED = "superseded"  # the job is no longer ours
    GAVE_UP = "gave_up"  # still busy/unreachable when the lease ran out (Zeebe re-activates the job)
    REJECTED = "rejected"  # a permanent error (INVALID_ARGUMENT, ...): a bug on our side


class Commands:
    def __init__(self, gateway: Gateway, new_backoff: Callable[[], Backoff], call_timeout_s: float = 10.0,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:  # fmt: skip
        self.gateway = gateway
        self._new_backoff = new_backoff
        self._call_timeout_s = call_timeout_s
        self._sleep = sleep

    async def complete(self, request: CompleteJobRequest, remaining: Callable[[], float]) -> Ack:
        return await self._send("complete", lambda t: self.gateway.stub.CompleteJob(request, timeout=t), remaining)

    async def fail(self, request: FailJobRequest, remaining: Callable[[], float]) -> Ack:
        return await self._send("fail", lambda t: self.gateway.stub.FailJob(request, timeout=t), remaining)

    async def throw(self, request: ThrowErrorRequest, remaining: Callable[[], float]) -> Ack:
        return await self._send("throw_error", lambda t: self.gateway.stub.ThrowError(request, timeout=t), remaining)

    async def update_timeout(self, job_key: int, timeout_ms: int, remaining: Callable[[], float]) -> Ack:
        request = UpdateJobTimeoutRequest(jobKey=job_key, timeout=timeout_ms)
        return await self._send("update_timeout", lambda t: self.gateway.stub.UpdateJobTimeout(request, timeout=t),
                                remaining)  # fmt: skip

    async def _send(self, name: str, call: Callable[[float], Awaitable[Any]], remaining: Callable[[], float]) -> Ack:
        """``remaining()``: seconds we still hold the job; no retry starts after that."""
        backoff = self._new_backoff()
        while True:
            left = remaining()
            if left <= 0:
                log.warning("job_command_gave_up", command=name, attempts=backoff.attempt)
                return Ack.GAVE_UP
            try:
                await call(min(self._call_timeout_s, max(left, 0.5)))
            except grpc.aio.AioRpcError as exc:
                code = exc.code()
                if code in status.GONE:
                    log.debug("job_command_superseded", command=name, status=status.name_of(code))
                    self.gateway.ok()
                    return Ack.SUPERSEDED
                if code in status.RETRY or code in status.AUTH:
                    await self.gateway.on_error(code)
                    delay = backoff.next()
                    log.info("job_command_retry", command=name, status=status.name_of(code),
                             delay_ms=int(delay * 1000))  # fmt: skip
                    if delay >= remaining():
                        log.warning("job_command_gave_up", command=name, attempts=backoff.attempt,
                                    status=status.name_of(code))  # fmt: skip
                        return Ack.GAVE_UP
                    await self._sleep(delay)
                    continue
                log.error("job_command_rejected", command=name, status=status.name_of(code))
                return Ack.REJECTED
            self.gateway.ok()
            return Ack.ACKED
