"""BambooHR as a plug-in (``workers.plugins``): settings ``BAMBOOHR_*``, sandbox ``HRSANDBOX_*`` on 8095."""

from __future__ import annotations

from typing import Any

from workers import config
from workers.plugins import Plugin, SandboxSpec


def _client(settings: Any) -> Any:
    from workers.hr.bamboohr import build_hr

    return build_hr(settings)


def _source(settings: Any, dev: bool) -> Any:
    from workers.bridge.sources import BambooHrSource
    from workers.secret_checks import hr_webhook_verifier

    return BambooHrSource(hr_webhook_verifier(settings, dev=dev), company_id=settings.company_id,
                          start_on_update_fields=list(settings.start_on_update_fields))  # fmt: skip


def _sandbox(settings: Any, bridge_url: str) -> SandboxSpec:
    from workers.sandbox.bamboohr.app import create_app
    from workers.sandbox.bamboohr.state import HrSandboxState

    sandbox = config.hr_sandbox()
    if "webhook_url" not in sandbox.model_fields_set:
        sandbox = sandbox.model_copy(update={"webhook_url": f"{bridge_url}/webhooks/bamboohr"})
    return SandboxSpec(create_app(sandbox, HrSandboxState()), sandbox.host, sandbox.port,
                       "HR sandbox (BambooHR-style)")  # fmt: skip


PLUGIN = Plugin("bamboohr", "hr", config.bamboohr, _client, _source, _sandbox)
