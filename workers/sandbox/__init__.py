"""A local, faithful simulator of the Contractize-style provider API (see ``workers.sandbox.app``)."""

from workers.sandbox.app import WebhookDispatcher, create_app
from workers.sandbox.server import SandboxServer, serve
from workers.sandbox.state import Faults, SandboxState

__all__ = ["Faults", "SandboxServer", "SandboxState", "WebhookDispatcher", "create_app", "serve"]
