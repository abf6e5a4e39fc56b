"""workers.tasks.provider_errors: the 429 wait vs hand-back decision and the mapping of every provider error.

No wall clock: sleeps are recorded by an injected fake, and job deadlines are far apart from the waits
they are compared with (an hour vs seconds), so a slow machine cannot change an outcome."""

from __future__ import annotations

import math
import time

import pytest

from workers.errors import ContractDataInvalid, TransientError
from workers.providers.base import (
    DocumentNotFound,
    ProviderAuthError,
    ProviderBadAnswer,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from workers.tasks.provider_errors import call_provider, clamp_retry_after
from workers.tasks.runtime import JobInfo


def job(seconds_left: float) -> JobInfo:
    return JobInfo(1, 2, "employee-nda", "task", 3, int((time.time() + seconds_left) * 1000))


class Script:
    """A provider call answering from a list: exceptions are raised, anything else returned."""

    def __init__(self, *answers: object) -> None:
        self.answers = list(answers)
        self.calls = 0

    async def __call__(self) -> object:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def limited(seconds: float) -> ProviderRateLimited:
    return ProviderRateLimited("contract provider at p rate-limited POST /v1/generate (HTTP 429)", seconds)


async def test_429_is_waited_out_in_process_while_the_deadline_allows() -> None:
    call, sleeps = Script(limited(7), limited(2), "document"), Sleeps()
    assert await call_provider(call, job(3600), "generating nda-001", sleep=sleeps) == "document"
    assert sleeps.waits == [7, 2] and call.calls == 3


async def test_429_beyond_the_deadline_hands_the_job_back_without_spending_a_retry() -> None:
    call, sleeps = Script(limited(120)), Sleeps()
    with pytest.raises(TransientError) as err:
        await call_provider(call, job(30), "generating nda-001", sleep=sleeps)
    assert sleeps.waits == []
    assert (err.value.retry_after, err.value.spend_retry) == (120, False)
    assert err.value.message == "contract provider: generating nda-001 was rate-limited; retrying after 120s"


async def test_the_deadline_margin_counts() -> None:
    # 20 s wait + 5 s margin does not fit into 24 s left (nor would it into 25 s, the bound is strict)
    with pytest.raises(TransientError):
        await call_provider(Script(limited(20)), job(24), "x", sleep=Sleeps())


@pytest.mark.parametrize(
    ("retry_after", "clamped"),
    [(1e300, 300.0), (math.inf, 300.0), (math.nan, 300.0), (-5.0, 0.0), (42.5, 42.5)],
)
async def test_absurd_retry_after_is_clamped_before_it_reaches_the_runtime(retry_after, clamped) -> None:
    assert clamp_retry_after(retry_after) == clamped
    with pytest.raises(TransientError) as err:
        await call_provider(Script(limited(retry_after)), job(1), "x", sleep=Sleeps())
    assert err.value.retry_after == min(clamped, 300.0)
    assert int(err.value.retry_after * 1000) <= 300_000  # what the runtime turns into a back-off


async def test_a_clamped_retry_after_can_still_be_waited_out_in_a_long_job() -> None:
    sleeps = Sleeps()
    await call_provider(Script(limited(1e300), "ok"), job(3600), "x", sleep=sleeps)
    assert sleeps.waits == [300.0]


async def test_rejected_becomes_contract_data_invalid_with_identifier_fields_only() -> None:
    rejected = ProviderRejected(
        "contract provider at p rejected the data for template 'nda-001' (HTTP 422); fields: start_date",
        fields=["start_date", "Grace Hopper", "employee_email", "start_date", "a@b.example"],
    )
    with pytest.raises(ContractDataInvalid) as err:
        await call_provider(Script(rejected), job(3600), "generating nda-001")
    assert err.value.code == "CONTRACT_DATA_INVALID"
    assert err.value.fields == ["employee_email", "start_date"]
    assert err.value.message == (
        "contract provider rejected generating nda-001: contract provider at p rejected the data for "
        "template 'nda-001' (HTTP 422); fields: start_date"
    )


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            ProviderAuthError("contract provider at p refused the client credentials (HTTP 401)"),
            "contract provider refused our credentials during the token request: contract provider at p refused "
            "the client credentials (HTTP 401). Check CONTRACTIZE_CLIENT_ID/CONTRACTIZE_CLIENT_SECRET and the "
            "granted scopes",
        ),
        (
            ProviderUnavailable("contract provider at p unavailable: HTTP 503 on POST /oauth/token"),
            "the token request failed: contract provider at p unavailable: HTTP 503 on POST /oauth/token",
        ),
        (
            ProviderBadAnswer("the downloaded document is not a PDF: it starts like an HTML page, not with '%PDF-'"),
            "the token request failed: the downloaded document is not a PDF: it starts like an HTML page, not "
            "with '%PDF-'",
        ),
        (
            DocumentNotFound("contract provider at p has no document 'doc_1'"),
            "the token request failed: contract provider at p has no document 'doc_1'",
        ),
    ],
)
async def test_technical_failures_become_transient_errors_that_spend_a_retry(error, expected) -> None:
    with pytest.raises(TransientError) as err:
        await call_provider(Script(error), job(3600), "the token request")
    assert err.value.message == expected
    assert err.value.spend_retry is True and err.value.retry_after is None
    assert err.value.__cause__ is None and err.value.__suppress_context__  # raised "from None"


async def test_other_exceptions_pass_through_untouched() -> None:
    with pytest.raises(KeyError):
        await call_provider(Script(KeyError("x")), job(3600), "x")
