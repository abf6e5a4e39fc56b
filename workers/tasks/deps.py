"""What the task handlers share: the provider adapter, the HR system, the DMS adapter and their settings.

Built once per worker process, so the provider's token cache and HTTP connection pool are shared by
every job of every task.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workers import config
from workers.config import DmsSettings, PiiSettings, ProviderSettings
from workers.dms.base import DmsAdapter
from workers.hr.base import HrSystem
from workers.providers.base import ContractProvider


@dataclass
class Deps:
    provider: ContractProvider
    dms: DmsAdapter
    provider_settings: ProviderSettings
    dms_settings: DmsSettings
    pii: PiiSettings
    hr: HrSystem
    hr_settings: Any
    _closers: list = field(default_factory=list)

    async def aclose(self) -> None:
        for close in self._closers:
            await close()


def build_deps(
    provider_settings: ProviderSettings | None = None,
    dms_settings: DmsSettings | None = None,
    pii: PiiSettings | None = None,
    hr_settings: Any = None,
) -> Deps:
    from workers.dms.factory import build_dms
    from workers.hr.bamboohr import build_hr
    from workers.providers.contractize import build_provider

    hr_settings = hr_settings or config.bamboohr()
    provider_settings = provider_settings or config.provider()
    provider = build_provider(provider_settings)
    dms_settings = dms_settings or config.dms()
    deps = Deps(
        provider=provider,
        dms=build_dms(dms_settings),
        provider_settings=provider_settings,
        dms_settings=dms_settings,
        pii=pii or config.pii(),
        hr=build_hr(hr_settings),
        hr_settings=hr_settings,
    )
    for resource in (provider, deps.dms, deps.hr):
        if hasattr(resource, "aclose"):
            deps._closers.append(resource.aclose)
    return deps
