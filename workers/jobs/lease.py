"""How long we still hold a job: its deadline, extended by the heartbeat.

Handlers stop ``margin_s`` before the deadline, so the failure (or the completion) can still be sent
while the job is ours; past the deadline Zeebe hands the job to someone else and our command would get
NOT_FOUND.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from workers.jobs.job import Job


class Lease:
    def __init__(self, job: Job, margin_s: float, clock: Callable[[], float] = time.time) -> None:
        self.deadline_s = job.deadline / 1000
        self.margin_s = margin_s
        self._clock = clock
        self.extensions = 0

    def remaining(self) -> float:
        """Seconds until Zeebe may give the job to another worker."""
        return self.deadline_s - self._clock()

    def handler_budget(self) -> float:
        """Seconds the handler may still run."""
        return self.remaining() - self.margin_s

    def extend(self, timeout_ms: int) -> None:
        """Zeebe accepted UpdateJobTimeout(timeout_ms): the deadline is now + timeout (at least)."""
        self.deadline_s = max(self.deadline_s, self._clock() + timeout_ms / 1000)
        self.extensions += 1


def margin_for(timeout_ms: int, margin_ms: int) -> float:
    """The configured margin, but never more than a quarter of the job timeout."""
    return min(margin_ms, timeout_ms // 4) / 1000
