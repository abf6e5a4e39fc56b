"""A local simulator of HubSpot (CRM v3 deal, contact and company API + v3-signed webhooks) on its own
loopback port (``CRMSANDBOX_PORT``, 8094). See ``workers.sandbox.hubspot.app``."""

from workers.sandbox.hubspot.app import create_app
from workers.sandbox.hubspot.server import HubSpotSandboxServer, serve
from workers.sandbox.hubspot.state import SEED_COMPANIES, SEED_CONTACTS, SEED_DEALS, CrmFaults, CrmSandboxState
from workers.sandbox.hubspot.webhooks import WebhookSender

__all__ = [
    "CrmFaults",
    "CrmSandboxState",
    "HubSpotSandboxServer",
    "SEED_COMPANIES",
    "SEED_CONTACTS",
    "SEED_DEALS",
    "WebhookSender",
    "create_app",
    "serve",
]
