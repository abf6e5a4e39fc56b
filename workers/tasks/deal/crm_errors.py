"""One place that turns CRM failures into task outcomes, like ``hr_errors`` for the HR system.

* a deal (or its contact or company) the CRM does not know -> BPMN error ``DEAL_NOT_FOUND`` (the diagram
  ends the instance on a named path: no retry can make the record exist);
* 429 -> waited out in-process while the job's deadline allows, else handed back without spending a retry;
* access token refused, an update the CRM refuses (naming the properties), unavailable -> a transient
  failure (retries, then an incident whose message says what to check).

Messages come from ``CrmError`` messages (status codes, paths, our ids, property names; never a value).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from workers.crm.base import CrmAuthError, CrmRateLimited, CrmRejected, CrmUnavailable, DealNotFound
from workers.errors import BusinessError, TransientError
from workers.tasks.provider_errors import Sleep, wait_out_rate_limit
from workers.tasks.runtime import JobInfo

T = TypeVar("T")

DEAL_NOT_FOUND = "DEAL_NOT_FOUND"


class DealUnknown(BusinessError):
    def __init__(self, message: str) -> None:
        super().__init__(DEAL_NOT_FOUND, message)


async def call_crm(call: Callable[[], Awaitable[T]], job: JobInfo, what: str, *, sleep: Sleep = asyncio.sleep) -> T:
    """Run one CRM call; wait out 429s in-process while the job's deadline allows."""
    while True:
        try:
            return await call()
        except CrmRateLimited as exc:
            await wait_out_rate_limit(exc.retry_after, job, f"CRM: {what}", sleep)
        except DealNotFound as exc:
            raise DealUnknown(f"{what}: {exc}") from None
        except CrmAuthError as exc:
            raise TransientError(f"the CRM refused our access token during {what}: {exc}. "
                                 "Check HUBSPOT_ACCESS_TOKEN and the private app's scopes") from None  # fmt: skip
        except CrmRejected as exc:
            names = ", ".join(exc.properties) if exc.properties else "none named"
            raise TransientError(f"the CRM refused {what} (properties: {names}): {exc}. Check that these deal "
                                 "properties exist in the CRM (HUBSPOT_CONTRACT_*_PROPERTY, "
                                 "HUBSPOT_DMS_LOCATION_PROPERTY)") from None  # fmt: skip
        except CrmUnavailable as exc:
            raise TransientError(f"{what} failed: {exc}") from None
