"""SpotDraft as a plug-in (``workers.plugins``): settings ``SPOTDRAFT_*``, sandbox ``SDSANDBOX_*`` on 8092.

Its webhook source turns lifecycle events into ``contract-executed`` / ``contract-declined`` /
``contract-voided``, correlated by the integer contract id (what the ``deal-contract`` flow waits on).
"""

from __future__ import annotations

import time
from typing import Any

from workers.plugins import Plugin, SandboxSpec


def _settings() -> Any:
    from workers.providers.spotdraft.settings import spotdraft

    return spotdraft()


def _client(settings: Any) -> Any:
    from workers.providers.spotdraft.adapter import build_client

    return build_client(settings)


def _source(settings: Any, dev: bool) -> Any:
    from workers.providers.spotdraft.settings import DEV_SPOTDRAFT_HMAC_KEY
    from workers.providers.spotdraft.webhooks import SpotDraftSource, SpotDraftVerifier
    from workers.secret_checks import SecretProblem, checked, given
    from workers.signing import SecretInvalid

    current = given(settings, "webhook_hmac_key") or (DEV_SPOTDRAFT_HMAC_KEY if dev else None)
    checked("SPOTDRAFT_WEBHOOK_HMAC_KEY", current, dev=dev, dev_secret=DEV_SPOTDRAFT_HMAC_KEY)
    previous = given(settings, "webhook_hmac_key_previous") or None
    if previous:
        checked("SPOTDRAFT_WEBHOOK_HMAC_KEY_PREVIOUS", previous, dev=dev, dev_secret=DEV_SPOTDRAFT_HMAC_KEY)
    try:
        return SpotDraftSource(SpotDraftVerifier.from_keys(current, previous))  # type: ignore[arg-type]
    except SecretInvalid as exc:
        raise SecretProblem(f"SPOTDRAFT_WEBHOOK_HMAC_KEY {exc}") from None


def _sandbox(settings: Any, bridge_url: str) -> SandboxSpec:
    from workers.providers.spotdraft.settings import spotdraft_sandbox
    from workers.sandbox.spotdraft.app import create_app
    from workers.sandbox.spotdraft.state import SdSandboxState

    sandbox = spotdraft_sandbox()
    if "webhook_url" not in sandbox.model_fields_set:
        sandbox = sandbox.model_copy(update={"webhook_url": f"{bridge_url}/webhooks/spotdraft"})
    if "auto_sign_after_s" not in sandbox.model_fields_set:  # in `make run` the counterparty signs by itself
        sandbox = sandbox.model_copy(update={"auto_sign_after_s": 3.0})
    # Ids from the clock: the DMS (which outlives a run) files executed contracts by id.
    state = SdSandboxState(first_contract_id=int(time.time()) % 10**8 * 10)
    return SandboxSpec(create_app(sandbox, state), sandbox.host, sandbox.port,
                       "SpotDraft sandbox (API v2.1)")  # fmt: skip


PLUGIN = Plugin("spotdraft", "contract-provider", _settings, _client, _source, _sandbox)
