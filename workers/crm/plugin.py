"""HubSpot as a plug-in (``workers.plugins``): settings ``HUBSPOT_*``, sandbox ``CRMSANDBOX_*`` on 8094.

Its webhook source turns a Closed-Won deal into ``deal-closed-won`` (message start of ``deal-contract``),
published with TTL 0 like the HR hire: Zeebe starts nothing while that deal's instance is active.
"""

from __future__ import annotations

from typing import Any

from workers.plugins import Plugin, SandboxSpec


def _settings() -> Any:
    from workers.crm.settings import hubspot

    return hubspot()


def _client(settings: Any) -> Any:
    from workers.crm.hubspot import build_crm

    return build_crm(settings)


def _source(settings: Any, dev: bool) -> Any:
    from workers.crm.settings import DEV_HUBSPOT_CLIENT_SECRET
    from workers.crm.webhooks import HubSpotSource, HubSpotVerifier
    from workers.secret_checks import SecretProblem, checked, given
    from workers.signing import SecretInvalid

    current = given(settings, "client_secret") or (DEV_HUBSPOT_CLIENT_SECRET if dev else None)
    checked("HUBSPOT_CLIENT_SECRET", current, dev=dev, dev_secret=DEV_HUBSPOT_CLIENT_SECRET)
    previous = given(settings, "client_secret_previous") or None
    if previous:
        checked("HUBSPOT_CLIENT_SECRET_PREVIOUS", previous, dev=dev, dev_secret=DEV_HUBSPOT_CLIENT_SECRET)
    try:
        verifier = HubSpotVerifier.from_secrets(current, previous, uri=settings.webhook_url,  # type: ignore[arg-type]
                                                max_age_s=settings.max_timestamp_age_s)  # fmt: skip
    except SecretInvalid as exc:
        raise SecretProblem(f"HUBSPOT_CLIENT_SECRET {exc}") from None
    return HubSpotSource(verifier, closed_won_stage=settings.closed_won_stage, portal_id=settings.portal_id,
                         ttl_ms=0)  # fmt: skip


def _sandbox(settings: Any, bridge_url: str) -> SandboxSpec:
    from workers.crm.settings import crm_sandbox
    from workers.sandbox.hubspot.app import create_app
    from workers.sandbox.hubspot.state import CrmSandboxState

    sandbox = crm_sandbox()
    if "webhook_url" not in sandbox.model_fields_set:
        # v3 signatures cover the URL: the sandbox must send to exactly the URL the bridge verifies against.
        sandbox = sandbox.model_copy(update={"webhook_url": settings.webhook_url})
    return SandboxSpec(create_app(sandbox, CrmSandboxState()), sandbox.host, sandbox.port, "CRM sandbox (HubSpot-style)")


PLUGIN = Plugin("hubspot", "crm", _settings, _client, _source, _sandbox)
