"""HR system adapters. Tasks see ``hr.base`` only; ``build_hr`` makes the real one (BambooHR).

``hr.signing`` verifies BambooHR's webhooks (the bridge) and signs them (the sandbox,
``workers.sandbox.bamboohr``); ``hr.settings`` holds ``BAMBOOHR_*`` and ``HRSANDBOX_*``.
"""

from __future__ import annotations

from typing import Any

from workers.hr.base import (
    EmployeeNotFound,
    HrAuthError,
    HrError,
    HrRateLimited,
    HrRecord,
    HrRejected,
    HrSystem,
    HrUnavailable,
)

__all__ = [
    "BambooHr",
    "EmployeeNotFound",
    "HrAuthError",
    "HrError",
    "HrRateLimited",
    "HrRecord",
    "HrRejected",
    "HrSystem",
    "HrUnavailable",
    "build_hr",
]


def __getattr__(name: str) -> Any:  # lazy, so importing ``hr.base`` stays cheap
    if name in ("BambooHr", "build_hr"):
        from workers.hr import bamboohr

        return getattr(bamboohr, name)
    raise AttributeError(name)
