"""``contract.ping``: a connectivity check an operator can drop into any diagram.

It proves the whole path engine -> worker -> engine works, and tells which worker answered.
"""

from __future__ import annotations

import socket
from datetime import datetime, timezone
from typing import Any

from workers import __version__
from workers.errors import ContractDataInvalid
from workers.tasks.runtime import JobInfo, TaskModel, TaskSpec


class PingInput(TaskModel):
    message: str = "ping"


class PingOutput(TaskModel):
    pong: str
    answered_by: str
    worker_version: str
    answered_at: datetime


async def handle(data: PingInput, job: JobInfo, deps: Any) -> PingOutput:
    if not data.message.strip():
        raise ContractDataInvalid("ping message must not be blank", ["message"])
    return PingOutput(
        pong=data.message[::-1],
        answered_by=socket.gethostname(),
        worker_version=__version__,
        answered_at=datetime.now(timezone.utc),
    )


SPEC = TaskSpec(
    type="contract.ping",
    name="Contract workers: ping",
    description="Answers with the reversed message and the worker that handled it.",
    input_model=PingInput,
    output_model=PingOutput,
    handler=handle,
    timeout_ms=10_000,
    retries=3,
)
