"""Provider calls of the deal flow: ``provider_errors.call_provider`` plus what is particular to SpotDraft.

``call_provider`` maps every ``ProviderRejected`` onto ``CONTRACT_DATA_INVALID``; SpotDraft's
``TemplateNotFound`` is one, so it is caught first, inside the call, and becomes ``TEMPLATE_NOT_FOUND``
(``contractError.fields`` = ``["templateId"]``, the process variable at fault). ``ContractStateInvalid`` (402,
the contract's workflow state) becomes ``CONTRACT_STATE_INVALID`` where the diagram has a path for it
(``state_errors=True``: sending) and a transient failure elsewhere. Refused credentials are reported with
SpotDraft's own hint (``SPOTDRAFT_CLIENT_ID``...) rather than ``call_provider``'s Contractize one.
Everything else (429 waited out, 5xx, bad answers, unknown contract) is ``call_provider``'s.

Also: resolving a plug-in named by a process variable (``provider``, ``crm``) to its client or settings.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from workers.errors import BusinessError, ContractDataInvalid, TransientError
from workers.providers.base import ProviderAuthError
from workers.providers.spotdraft.errors import ContractStateInvalid, TemplateNotFound
from workers.tasks.provider_errors import Sleep, call_provider
from workers.tasks.runtime import JobInfo

T = TypeVar("T")

TEMPLATE_NOT_FOUND = TemplateNotFound.CODE  # "TEMPLATE_NOT_FOUND"
CONTRACT_STATE_INVALID = ContractStateInvalid.CODE  # "CONTRACT_STATE_INVALID"


class TemplateUnknown(BusinessError):
    def __init__(self, message: str) -> None:
        super().__init__(TEMPLATE_NOT_FOUND, message)
        self.fields = ["templateId"]


class ContractStateRefused(BusinessError):
    def __init__(self, message: str) -> None:
        super().__init__(CONTRACT_STATE_INVALID, message)


async def call_spotdraft(call: Callable[[], Awaitable[T]], job: JobInfo, what: str, *, state_errors: bool = False,
                         sleep: Sleep = asyncio.sleep) -> T:  # fmt: skip
    """Run one provider call through ``call_provider``, SpotDraft's own errors mapped first (see above)."""

    async def guarded() -> T:
        try:
            return await call()
        except TemplateNotFound as exc:
            raise TemplateUnknown(f"{what}: {exc}") from None
        except ContractStateInvalid as exc:
            message = f"{what}: the contract's current state does not allow it ({exc})"
            if state_errors:
                raise ContractStateRefused(message) from None
            raise TransientError(message) from None
        except ProviderAuthError as exc:
            raise TransientError(f"the contract provider refused our credentials during {what}: {exc}") from None

    return await call_provider(guarded, job, what, sleep=sleep)


def plugin_client(deps: Any, name: str, variable: str) -> Any:
    """The client of the plug-in the instance's ``variable`` names; ``CONTRACT_DATA_INVALID`` naming the
    variable when there is no such plug-in (no retry can fix a process variable)."""
    try:
        return deps.client(name)
    except LookupError as exc:
        raise ContractDataInvalid(f"process variable {variable}: {exc}", [variable]) from None


def plugin_settings(deps: Any, name: str, variable: str) -> Any:
    try:
        return deps.settings[name]
    except KeyError:
        raise ContractDataInvalid(f"process variable {variable}: no settings for a plug-in named {name!r}",
                                  [variable]) from None  # fmt: skip
