"""A local simulator of BambooHR (employee API + event-based webhooks) on its own loopback port
(``HRSANDBOX_PORT``, 8095). See ``workers.sandbox.bamboohr.app``."""

from workers.sandbox.bamboohr.app import create_app
from workers.sandbox.bamboohr.server import HrSandboxServer, serve
from workers.sandbox.bamboohr.state import SEED_EMPLOYEES, HrFaults, HrSandboxState
from workers.sandbox.bamboohr.webhooks import WebhookSender

__all__ = ["HrFaults", "HrSandboxServer", "HrSandboxState", "SEED_EMPLOYEES", "WebhookSender", "create_app", "serve"]
