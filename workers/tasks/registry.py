"""Every task type this package serves, in the order the NDA flow runs them."""

from __future__ import annotations

from workers.tasks import build_payload, check_status, generate, get_token, hr_sync, ping, prune_pii, upload_dms
from workers.tasks.runtime import TaskSpec


def all_specs() -> list[TaskSpec]:
    return [
        build_payload.SPEC,
        get_token.SPEC,
        generate.SPEC,
        check_status.SPEC,
        upload_dms.SPEC,
        hr_sync.SPEC,
        prune_pii.SPEC,  # only instances of employee-nda v1 still run it
        ping.SPEC,
    ]
