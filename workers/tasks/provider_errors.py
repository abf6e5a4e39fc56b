"""One place that turns provider failures into task outcomes (BPMN error vs. retry vs. incident)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from workers.errors import ContractDataInvalid, TransientError
from workers.providers.base import (
    DocumentNotFound,
    ProviderAuthError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from workers.tasks.runtime import JobInfo

T = TypeVar("T")

# Keep this much of the job's time for reporting back to Zeebe after waiting out a 429.
_DEADLINE_MARGIN_S = 5.0


async def call_provider(call: Callable[[], Awaitable[T]], job: JobInfo, what: str) -> T:
    """Run one provider call; wait out 429s in-process while the job's deadline allows."""
    while True:
        try:
            return await call()
        except ProviderRateLimited as exc:
            if exc.retry_after + _DEADLINE_MARGIN_S < job.seconds_left():
                await asyncio.sleep(exc.retry_after)
                continue
            # Rate limiting says nothing about this job: hand it back without spending a retry.
            raise TransientError(
                f"contract provider rate-limited {what}; retrying after {exc.retry_after:.0f}s",
                retry_after=exc.retry_after,
                spend_retry=False,
            ) from None
        except ProviderRejected as exc:
            raise ContractDataInvalid(f"contract provider rejected {what}: {exc}", exc.fields) from None
        except ProviderAuthError as exc:
            raise TransientError(
                f"contract provider refused our credentials during {what}: {exc}. "
                "Check CONTRACTIZE_CLIENT_ID/CONTRACTIZE_CLIENT_SECRET and the granted scopes"
            ) from None
        except ProviderUnavailable as exc:
            raise TransientError(f"{what} failed: {exc}") from None
        except DocumentNotFound as exc:
            raise TransientError(f"{what} failed: {exc}") from None
