"""One place that turns provider failures into task outcomes (BPMN error vs. retry vs. incident).

* 429: wait the provider's ``Retry-After`` in-process when the job's deadline leaves room for it (and
  for reporting back), else hand the job back *without spending a retry* (rate limiting says nothing
  about the job). The wait is clamped to ``MAX_RETRY_AFTER_S`` whatever an adapter passed on: a
  ``1e300``, ``inf`` or NaN must neither crash the exception handler nor park a job for ever.
* 4xx on our data: ``CONTRACT_DATA_INVALID`` naming the fields; only identifier-like field names are
  kept (a provider's problem text can quote a value, e.g. a name).
* Credentials refused, unavailable, bad answers, document missing: a transient failure (retries, then
  an incident whose message says what failed).

Every message here comes from ``ProviderError`` messages, which adapters build from status codes,
paths, our own ids and field names only (``workers.providers.base``).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from typing import TypeVar

from workers.errors import ContractDataInvalid, TransientError
from workers.providers.answers import MAX_RETRY_AFTER_S, field_names
from workers.providers.base import (
    DocumentNotFound,
    ProviderAuthError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from workers.tasks.runtime import JobInfo

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[object]]

# Keep this much of the job's time for reporting back to Zeebe after waiting out a 429.
_DEADLINE_MARGIN_S = 5.0


def clamp_retry_after(seconds: float, maximum: float = MAX_RETRY_AFTER_S) -> float:
    """``seconds`` in ``[0, maximum]``; NaN gives ``maximum`` (we were told to wait, not for how long)."""
    if not isinstance(seconds, (int, float)) or math.isnan(seconds):
        return maximum
    return min(max(0.0, float(seconds)), maximum)


async def wait_out_rate_limit(retry_after: float, job: JobInfo, what: str, sleep: Sleep) -> None:
    """Sleep ``retry_after`` (clamped) when the job's deadline leaves room; else hand the job back
    without spending a retry (``TransientError(spend_retry=False)``): rate limiting says nothing about it."""
    wait = clamp_retry_after(retry_after)
    if wait + _DEADLINE_MARGIN_S < job.seconds_left():
        await sleep(wait)
        return
    raise TransientError(f"{what} was rate-limited; retrying after {wait:.0f}s", retry_after=wait,
                         spend_retry=False)  # fmt: skip


async def call_provider(
    call: Callable[[], Awaitable[T]], job: JobInfo, what: str, *, sleep: Sleep = asyncio.sleep
) -> T:
    """Run one provider call; wait out 429s in-process while the job's deadline allows."""
    while True:
        try:
            return await call()
        except ProviderRateLimited as exc:
            await wait_out_rate_limit(exc.retry_after, job, f"contract provider: {what}", sleep)
        except ProviderRejected as exc:
            raise ContractDataInvalid(f"contract provider rejected {what}: {exc}", field_names(exc.fields)) from None
        except ProviderAuthError as exc:
            raise TransientError(
                f"contract provider refused our credentials during {what}: {exc}. "
                "Check CONTRACTIZE_CLIENT_ID/CONTRACTIZE_CLIENT_SECRET and the granted scopes"
            ) from None
        except ProviderUnavailable as exc:  # ProviderBadAnswer included
            raise TransientError(f"{what} failed: {exc}") from None
        except DocumentNotFound as exc:
            raise TransientError(f"{what} failed: {exc}") from None
