"""StreamActivatedJobs: jobs pushed as soon as they are activatable (Zeebe 8.4+).

Every pushed job is handed to ``start(job, has_slot=False)``: it queues for a slot of the shared cap (it
does not run beyond the cap). The stream is re-opened forever: at once after its planned expiry
(DEADLINE_EXCEEDED at ``stream_timeout_s``, not an error) or a clean end, after a jittered back-off on
errors. The back-off resets once a stream stayed open for a while or delivered a job.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import grpc
import structlog
from pyzeebe.proto.gateway_pb2 import StreamActivatedJobsRequest

from workers.jobs.job import Job
from workers.jobs.loop import Loop

log = structlog.get_logger(__name__)

# A stream that stayed open this long counts as a success (the gateway accepted it).
HEALTHY_AFTER_S = 2.0


class Streamer(Loop):
    kind = "stream"

    def __init__(self, *args: Any, start: Callable[[Job, bool], None], stream_timeout_s: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.start = start
        self.stream_timeout_s = stream_timeout_s
        self.opened = 0
        self.received = 0

    async def run(self) -> None:
        request = StreamActivatedJobsRequest(type=self.config.type, worker=self.config.worker,
                                             timeout=self.config.timeout_ms,
                                             fetchVariable=list(self.config.fetch_variables))  # fmt: skip
        while True:
            self.tick()
            opened_at = time.monotonic()
            self.opened += 1
            try:
                async for raw in self.gateway.stub.StreamActivatedJobs(request, timeout=self.stream_timeout_s):
                    self.tick()
                    self.gateway.ok()
                    self.backoff.reset()
                    self.received += 1
                    self.start(Job.from_proto(raw), False)
                if time.monotonic() - opened_at < HEALTHY_AFTER_S:  # closed at once: do not spin
                    await self._sleep(self.backoff.next())
            except grpc.aio.AioRpcError as exc:
                if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED and \
                        time.monotonic() - opened_at >= self.stream_timeout_s * 0.9:  # fmt: skip
                    log.debug("job_stream_expired", task_type=self.config.type)
                    self.backoff.reset()
                    continue
                if time.monotonic() - opened_at >= HEALTHY_AFTER_S:
                    self.backoff.reset()
                await self.on_error(exc)
