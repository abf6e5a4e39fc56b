"""CRM adapters for the deal flow. Tasks see ``crm.base`` only; ``build_crm`` makes the real one (HubSpot).

``crm.webhooks`` verifies HubSpot's v3-signed webhooks and turns a Closed-Won batch into Zeebe messages
(the bridge), and signs them (the sandbox, ``workers.sandbox.hubspot``); ``crm.settings`` holds
``HUBSPOT_*`` and ``CRMSANDBOX_*``.
"""

from __future__ import annotations

from typing import Any

from workers.crm.base import (
    CrmAuthError,
    CrmError,
    CrmObject,
    CrmRateLimited,
    CrmRejected,
    CrmSystem,
    CrmUnavailable,
    Deal,
    DealNotFound,
)

__all__ = [
    "CrmAuthError",
    "CrmError",
    "CrmObject",
    "CrmRateLimited",
    "CrmRejected",
    "CrmSystem",
    "CrmUnavailable",
    "Deal",
    "DealNotFound",
    "HubSpotClient",
    "build_crm",
]


def __getattr__(name: str) -> Any:  # lazy, so importing ``crm.base`` stays cheap
    if name in ("HubSpotClient", "build_crm"):
        from workers.crm import hubspot

        return getattr(hubspot, name)
    raise AttributeError(name)
