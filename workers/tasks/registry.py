"""Every task type this package serves, in the order the NDA flow runs them."""

from __future__ import annotations

from workers.tasks import ping
from workers.tasks.runtime import TaskSpec


def all_specs() -> list[TaskSpec]:
    return [ping.SPEC]
