"""What the task handlers share: every plug-in's client (contract providers, the HR system, the CRM), the
DMS adapter and their settings.

Built once per worker process from the plug-in registry (``workers.plugins``), so token caches and HTTP
connection pools are shared by every job of every task. ``provider`` (Contractize, the NDA flow's
provider) and ``hr`` (BambooHR) are named shortcuts into ``clients``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from workers import config
from workers.config import DmsSettings, PiiSettings, ProviderSettings
from workers.dms.base import DmsAdapter


@dataclass
class Deps:
    clients: dict[str, Any]
    settings: dict[str, Any]
    dms: DmsAdapter
    dms_settings: DmsSettings
    pii: PiiSettings
    _closers: list = field(default_factory=list)

    @property
    def provider(self) -> Any:
        return self.clients["contractize"]

    @property
    def provider_settings(self) -> ProviderSettings:
        return self.settings["contractize"]

    @property
    def hr(self) -> Any:
        return self.clients["bamboohr"]

    @property
    def hr_settings(self) -> Any:
        return self.settings["bamboohr"]

    def client(self, name: str) -> Any:
        """The client of the plug-in ``name`` (e.g. the instance's ``provider`` variable)."""
        try:
            return self.clients[name]
        except KeyError:
            raise LookupError(f"no plug-in named {name!r} (known: {', '.join(sorted(self.clients))})") from None

    async def aclose(self) -> None:
        for close in self._closers:
            await close()


def build_deps(
    provider_settings: ProviderSettings | None = None,
    dms_settings: DmsSettings | None = None,
    pii: PiiSettings | None = None,
    hr_settings: Any = None,
    *,
    settings: Mapping[str, Any] | None = None,
) -> Deps:
    """Every plug-in's client, with its own settings unless ``settings`` (by plug-in name), or the
    ``provider_settings`` / ``hr_settings`` shortcuts, replace them."""
    from workers.dms.factory import build_dms
    from workers.plugins import plugins, settings_for

    overrides: dict[str, Any] = dict(settings or {})
    if provider_settings is not None:
        overrides["contractize"] = provider_settings
    if hr_settings is not None:
        overrides["bamboohr"] = hr_settings
    all_settings = settings_for(overrides)
    clients = {p.name: p.client(all_settings[p.name]) for p in plugins() if p.client is not None}
    dms_settings = dms_settings or config.dms()
    deps = Deps(clients=clients, settings=all_settings, dms=build_dms(dms_settings), dms_settings=dms_settings,
                pii=pii or config.pii())  # fmt: skip
    for resource in (*clients.values(), deps.dms):
        if hasattr(resource, "aclose"):
            deps._closers.append(resource.aclose)
    return deps
