"""The services this project integrates with, as plug-ins: one folder each, one line in ``REGISTRY``.

A plug-in (``Plugin``) says everything the rest of the code needs, so the worker's dependencies
(``tasks.deps.build_deps``), the bridge's routes (``bridge.auth.build_verifiers``: ``POST
/webhooks/<name>``) and the dev runner's sandboxes (``devstack.dev``) are all built by iterating the
registry, never by hand:

* ``name`` — the bridge's path segment and the value of the ``provider`` process variable;
* ``role`` — ``contract-provider``, ``hr`` or ``crm`` (what the flows use it for);
* ``settings()`` — its settings (own env prefix), loaded once;
* ``client(settings)`` — the adapter the tasks call (an object with ``aclose()``), or ``None``;
* ``source(settings, dev)`` — the bridge's ``WebhookSource`` (signature verifier + what its events
  become), or ``None`` if it sends no webhooks; raises ``SecretProblem`` for an unusable secret;
* ``sandbox(settings, bridge_url)`` — the local simulator for ``contract-workers dev`` (``SandboxSpec``:
  an ASGI app, host and port), pointed at the bridge; or ``None``.

Adding one: see "Adding a provider" in the README.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import import_module
from typing import Any

__all__ = ["REGISTRY", "Plugin", "SandboxSpec", "plugin", "plugins"]


@dataclass(frozen=True)
class SandboxSpec:
    app: Any
    host: str
    port: int
    label: str


@dataclass(frozen=True)
class Plugin:
    name: str
    role: str
    settings: Callable[[], Any]
    client: Callable[[Any], Any] | None = None
    source: Callable[[Any, bool], Any] | None = None
    sandbox: Callable[[Any, str], SandboxSpec] | None = None


# Each entry: the module whose ``PLUGIN`` attribute declares the plug-in (imported lazily, in this order).
REGISTRY: tuple[str, ...] = (
    "workers.providers.contractize.plugin",
    "workers.hr.plugin",
    "workers.providers.spotdraft.plugin",
    "workers.crm.plugin",
)


def plugins(roles: set[str] | None = None) -> list[Plugin]:
    found = [import_module(module).PLUGIN for module in REGISTRY]
    return [p for p in found if roles is None or p.role in roles]


def plugin(name: str) -> Plugin:
    for candidate in plugins():
        if candidate.name == name:
            return candidate
    raise KeyError(name)


def settings_for(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``{plugin name: settings}``: the given overrides (tests, the dev runner), else each plug-in's own."""
    overrides = overrides or {}
    return {p.name: overrides[p.name] if p.name in overrides else p.settings() for p in plugins()}
