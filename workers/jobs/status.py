"""What a gRPC status from the gateway means to the runtime."""

from __future__ import annotations

import grpc

# The gateway or broker is busy or away: retry after a (jittered) back-off.
RETRY = frozenset({
    grpc.StatusCode.RESOURCE_EXHAUSTED,  # back-pressure
    grpc.StatusCode.UNAVAILABLE,  # gateway down, restarting, no leader
    grpc.StatusCode.DEADLINE_EXCEEDED,  # our own per-call deadline
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.CANCELLED,
})  # fmt: skip
# Credentials: refresh the token once, then back off like any outage (never give up).
AUTH = frozenset({grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED})
# The job is no longer ours: completed, failed or timed out and re-activated elsewhere.
GONE = frozenset({grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION})


def code_of(error: BaseException) -> grpc.StatusCode | None:
    if isinstance(error, grpc.aio.AioRpcError):
        return error.code()
    return None


def name_of(code: grpc.StatusCode | None) -> str:
    return code.name if code is not None else "UNKNOWN"
