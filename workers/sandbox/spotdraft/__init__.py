"""A local simulator of SpotDraft (Public API v2.1 template contracts + contract activity webhooks) on its own
loopback port (``SDSANDBOX_PORT``, 8092). See ``workers.sandbox.spotdraft.app``."""

from workers.sandbox.spotdraft.app import create_app
from workers.sandbox.spotdraft.server import SpotDraftSandboxServer, serve
from workers.sandbox.spotdraft.state import SdContract, SdFaults, SdSandboxState
from workers.sandbox.spotdraft.templates import TEMPLATES
from workers.sandbox.spotdraft.webhooks import WebhookSender

__all__ = [
    "SdContract",
    "SdFaults",
    "SdSandboxState",
    "SpotDraftSandboxServer",
    "TEMPLATES",
    "WebhookSender",
    "create_app",
    "serve",
]
