"""The HubSpot CRM sandbox on a real port: ``HubSpotSandboxServer`` (tests: a background thread) and ``serve`` (the CLI,
``python -m``). Everything but these declarations is ``workers.sandbox.server.SandboxServer``.
"""

from __future__ import annotations

from workers.crm.settings import HubSpotSandboxSettings, crm_sandbox
from workers.sandbox.hubspot.app import create_app
from workers.sandbox.hubspot.state import CrmSandboxState
from workers.sandbox.server import SandboxServer


class HubSpotSandboxServer(SandboxServer):
    label = "hubspot"
    default_settings = staticmethod(crm_sandbox)
    new_state = CrmSandboxState
    create_app = staticmethod(create_app)
    settings: HubSpotSandboxSettings  # type: ignore[assignment]
    state: CrmSandboxState  # type: ignore[assignment]


serve = HubSpotSandboxServer.serve
