"""deal.sync-crm: the contract's outcome written to the deal with the configured property names and the
five key-data properties, idempotently; CRM failures mapped to retries (fake CRM)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.crm.base import CrmAuthError, CrmRateLimited, CrmRejected, CrmUnavailable
from workers.crm.settings import HubSpotSettings
from workers.errors import TransientError
from workers.tasks.deal import sync_crm
from workers.tasks.deal.sync_crm import SyncCrmInput, handle
from workers.tasks.runtime import Complete, Fail, Throw, decide

from .fakes import FakeCrm, deps, job, zeebe_job

KEY_DATA = {"effective_date": "2026-06-30", "contract_value": "48000.00 EUR", "term": "12 MONTHS",
            "renewal_date": "2027-06-30", "auto_renewal": "false", "notice_period": "30 DAYS"}  # fmt: skip
EXECUTED = {"dealId": "1001", "contractStatus": "EXECUTED", "contractId": "T-5001",
            "contractLink": "https://app.spotdraft.test/contracts/v2/5001",
            "dmsLocation": "/var/dms/T-5001/1001_T-5001_CONTRACT.pdf", "contractKeyData": KEY_DATA}  # fmt: skip


async def test_an_executed_contract_is_written_to_the_deal(tmp_path: Path) -> None:
    crm = FakeCrm()
    out = await handle(SyncCrmInput.model_validate(EXECUTED), job(), deps(tmp_path, crm=crm))
    assert crm.updates == [("1001", {
        "contract_status": "EXECUTED", "contract_id": "T-5001",
        "contract_link": "https://app.spotdraft.test/contracts/v2/5001",
        "contract_dms_location": "/var/dms/T-5001/1001_T-5001_CONTRACT.pdf",
        "contract_effective_date": "2026-06-30", "contract_value": "48000.00 EUR", "contract_term": "12 MONTHS",
        "contract_renewal_date": "2027-06-30", "contract_notice_period": "30 DAYS",
    })]  # fmt: skip
    assert (out.crm_sync.system, out.crm_sync.status) == ("hubspot", "EXECUTED")
    assert out.crm_sync.properties_written == sorted(crm.updates[0][1])
    assert "contract_auto_renewal" not in crm.updates[0][1]  # not one of the five


async def test_a_declined_contract_writes_what_is_known_and_leaves_the_rest(tmp_path: Path) -> None:
    crm = FakeCrm()
    variables = {"dealId": "1001", "contractStatus": "DECLINED", "contractId": "T-5001",
                 "contractLink": "https://app.spotdraft.test/contracts/v2/5001"}  # fmt: skip
    command = await decide(sync_crm.SPEC, zeebe_job("deal.sync-crm", variables), deps(tmp_path, crm=crm))
    assert isinstance(command, Complete)
    assert crm.updates == [("1001", {"contract_status": "DECLINED", "contract_id": "T-5001",
                                     "contract_link": "https://app.spotdraft.test/contracts/v2/5001"})]  # fmt: skip
    assert command.variables == {"crmSync": {"system": "hubspot", "status": "DECLINED",
                                             "propertiesWritten": ["contract_id", "contract_link",
                                                                   "contract_status"]}}  # fmt: skip


async def test_syncing_twice_writes_the_same_values(tmp_path: Path) -> None:
    crm = FakeCrm()
    d = deps(tmp_path, crm=crm)
    await handle(SyncCrmInput.model_validate(EXECUTED), job(key=1), d)
    await handle(SyncCrmInput.model_validate(EXECUTED), job(key=2), d)
    assert crm.updates[0] == crm.updates[1]


async def test_the_property_names_come_from_the_crm_settings(tmp_path: Path) -> None:
    crm = FakeCrm()
    d = deps(tmp_path, crm=crm)
    d.settings["hubspot"] = HubSpotSettings(contract_id_property="sd_id", contract_status_property="sd_status",
                                            contract_link_property="sd_link", dms_location_property="sd_dms")
    await handle(SyncCrmInput.model_validate({**EXECUTED, "contractKeyData": {}}), job(), d)
    assert sorted(crm.updates[0][1]) == ["sd_dms", "sd_id", "sd_link", "sd_status"]


@pytest.mark.parametrize("variables", [
    {"contractStatus": "executed"},
    {"contractLink": "javascript:alert(1)"},
    {"contractId": "5001"},
])
async def test_values_that_are_not_ours_are_refused(tmp_path: Path, variables: dict) -> None:
    crm = FakeCrm()
    command = await decide(sync_crm.SPEC, zeebe_job("deal.sync-crm", {**EXECUTED, **variables}),
                           deps(tmp_path, crm=crm))  # fmt: skip
    assert isinstance(command, Throw) and command.code == "CONTRACT_DATA_INVALID"
    assert crm.updates == []


@pytest.mark.parametrize(("error", "expected"), [
    (CrmAuthError("HubSpot at crm.test refused the access token (HTTP 401)"), "HUBSPOT_ACCESS_TOKEN"),
    (CrmRejected("HubSpot at crm.test rejected the update (HTTP 400)", ["contract_term"]), "contract_term"),
    (CrmUnavailable("HubSpot at crm.test unavailable: HTTP 502"), "HTTP 502"),
])
async def test_crm_failures_are_retried_saying_what_to_check(tmp_path: Path, error: Exception, expected: str) -> None:
    crm = FakeCrm(fail={"update_deal": [error]})
    command = await decide(sync_crm.SPEC, zeebe_job("deal.sync-crm", EXECUTED), deps(tmp_path, crm=crm))
    assert isinstance(command, Fail) and expected in command.message and command.retries == 2


async def test_a_rate_limit_is_waited_out_or_handed_back_without_spending_a_retry(tmp_path: Path) -> None:
    crm = FakeCrm(fail={"update_deal": [CrmRateLimited("HTTP 429", 0.0)]})
    await handle(SyncCrmInput.model_validate(EXECUTED), job(), deps(tmp_path, crm=crm))
    assert len(crm.called("update_deal")) == 2 and len(crm.updates) == 1

    crm = FakeCrm(fail={"update_deal": [CrmRateLimited("HTTP 429", 999.0)]})
    with pytest.raises(TransientError) as info:
        await handle(SyncCrmInput.model_validate(EXECUTED), job(seconds_left=30), deps(tmp_path, crm=crm))
    assert not info.value.spend_retry and info.value.retry_after == 300
