"""contract.hr-sync: the outcome written to the HR record (custom fields), idempotently, with field
*names* for a rejection and HR failures mapped to retries (fake HR system)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.errors import TransientError
from workers.hr.base import HrAuthError, HrRateLimited, HrRejected
from workers.tasks.hr_sync import HrSyncInput, handle

from .fakes import FakeHr, deps, job

FILED = {"employeeId": "E-4242", "hrOutcome": "filed", "docId": "doc-9", "dmsLocation": "/dms/doc-9/E-4242_NDA.pdf"}


async def test_a_filed_nda_is_recorded_with_its_document_and_location(tmp_path: Path) -> None:
    hr = FakeHr()
    out = await handle(HrSyncInput.model_validate(FILED), job(), deps(tmp_path, hr=hr))
    assert hr.updates == [("E-4242", {"customNDAStatus": "nda-001 filed (document doc-9)",
                                      "customNDADocument": "/dms/doc-9/E-4242_NDA.pdf"})]  # fmt: skip
    assert (out.hr_sync.outcome, out.hr_sync.fields_written) == ("filed", ["customNDADocument", "customNDAStatus"])


async def test_a_rejection_names_the_fields_and_never_a_value(tmp_path: Path) -> None:
    hr = FakeHr()
    error = {"code": "CONTRACT_DATA_INVALID", "message": "employee E-4242 ... grace-at-example",
             "fields": ["start_date", "employee_email", "x y <script>"]}  # fmt: skip
    data = HrSyncInput.model_validate({"employeeId": "E-4242", "hrOutcome": "rejected", "contractError": error})
    await handle(data, job(), deps(tmp_path, hr=hr))
    [(employee, fields)] = hr.updates
    assert fields["customNDAStatus"] == "nda-001 rejected (invalid or missing: employee_email, start_date)"
    assert fields["customNDADocument"] == ""
    assert "grace" not in str(fields) and "script" not in str(fields)


async def test_sending_the_same_outcome_twice_writes_the_same_values(tmp_path: Path) -> None:
    hr = FakeHr()
    d = deps(tmp_path, hr=hr)
    await handle(HrSyncInput.model_validate(FILED), job(), d)
    await handle(HrSyncInput.model_validate(FILED), job(), d)
    assert hr.updates[0] == hr.updates[1]


@pytest.mark.parametrize(("error", "expected"), [
    (HrAuthError("HTTP 401"), "Check BAMBOOHR_API_KEY"),
    (HrRejected("HTTP 400", ["customNDAStatus"]), "BAMBOOHR_NDA_"),
])
async def test_hr_refusals_are_retried_then_an_incident_saying_what_to_check(tmp_path: Path, error: Exception,
                                                                             expected: str) -> None:  # fmt: skip
    hr = FakeHr(fail={"update_employee": [error]})
    with pytest.raises(TransientError) as info:
        await handle(HrSyncInput.model_validate(FILED), job(), deps(tmp_path, hr=hr))
    assert expected in info.value.message and info.value.spend_retry


async def test_a_rate_limit_is_waited_out_without_spending_a_retry(tmp_path: Path) -> None:
    hr = FakeHr(fail={"update_employee": [HrRateLimited("HTTP 429", 999.0)]})
    with pytest.raises(TransientError) as info:
        await handle(HrSyncInput.model_validate(FILED), job(seconds_left=30), deps(tmp_path, hr=hr))
    assert not info.value.spend_retry and info.value.retry_after == 300
