"""One place that turns HR-system failures into task outcomes, like ``provider_errors`` for providers.

* employee unknown to the HR system (404) -> BPMN error ``EMPLOYEE_NOT_FOUND`` (the diagram ends the
  instance on a named path: no retry can make the record exist);
* 429 / 503 with Retry-After -> waited out in-process while the job's deadline allows, else handed back
  without spending a retry;
* API key refused, unavailable, an update the HR system refuses -> a transient failure (retries, then an
  incident whose message says what to check).

Messages come from ``HrError`` messages (status codes, paths, our ids, field names; never a value).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from workers.errors import BusinessError, TransientError
from workers.hr.base import EmployeeNotFound, HrAuthError, HrRateLimited, HrRejected, HrUnavailable
from workers.tasks.provider_errors import Sleep, wait_out_rate_limit
from workers.tasks.runtime import JobInfo

T = TypeVar("T")

EMPLOYEE_NOT_FOUND = "EMPLOYEE_NOT_FOUND"


class EmployeeUnknown(BusinessError):
    def __init__(self, message: str) -> None:
        super().__init__(EMPLOYEE_NOT_FOUND, message)


async def call_hr(call: Callable[[], Awaitable[T]], job: JobInfo, what: str, *, sleep: Sleep = asyncio.sleep) -> T:
    """Run one HR-system call; wait out 429s in-process while the job's deadline allows."""
    while True:
        try:
            return await call()
        except HrRateLimited as exc:
            await wait_out_rate_limit(exc.retry_after, job, f"HR system: {what}", sleep)
        except EmployeeNotFound as exc:
            raise EmployeeUnknown(f"{what}: {exc}") from None
        except HrAuthError as exc:
            raise TransientError(f"the HR system refused our API key during {what}: {exc}. "
                                 "Check BAMBOOHR_API_KEY and the key's access level") from None  # fmt: skip
        except HrRejected as exc:
            raise TransientError(f"the HR system refused {what}: {exc}. Check the BAMBOOHR_NDA_* field "
                                 "names (custom fields must exist in the HR system)") from None  # fmt: skip
        except HrUnavailable as exc:
            raise TransientError(f"{what} failed: {exc}") from None
