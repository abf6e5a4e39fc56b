"""deal.check-status: the reconciliation when no lifecycle webhook came; bounded by maxStatusChecks, then
CONTRACT_NOT_EXECUTED for a person to follow up (fake SpotDraft)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.errors import BusinessError, TransientError
from workers.providers.base import ProviderRateLimited, ProviderUnavailable
from workers.tasks.deal import check_status
from workers.tasks.deal.check_status import CheckStatusInput, handle
from workers.tasks.runtime import Complete, Fail, Throw, decide

from .fakes import FakeSpotDraft, deps, job, zeebe_job


def given(**variables: object) -> CheckStatusInput:
    return CheckStatusInput.model_validate({"contractId": "T-5001", **variables})


def contract(status: str) -> FakeSpotDraft:
    spotdraft = FakeSpotDraft()
    spotdraft.add("1001", status=status)
    return spotdraft


@pytest.mark.parametrize("status", ["EXECUTED", "VOIDED", "SIGN", "REDLINING"])
async def test_the_status_is_output_as_spotdraft_gives_it_and_the_checks_counted(tmp_path: Path, status: str) -> None:
    out = await handle(given(statusChecks=1), job(), deps(tmp_path, contract(status)))
    assert (out.contract_status, out.status_checks) == (status, 2)


async def test_a_declined_signature_shows_as_draft_and_is_output_as_is(tmp_path: Path) -> None:
    spotdraft = contract("REDLINING")
    spotdraft.set_status("T-5001", "DRAFT")  # what SpotDraft does on CONTRACT_SIGNATURE_DECLINED
    out = await handle(given(), job(), deps(tmp_path, spotdraft))
    assert out.contract_status == "DRAFT"


async def test_still_unsigned_at_the_last_check_is_contract_not_executed(tmp_path: Path) -> None:
    command = await decide(check_status.SPEC, zeebe_job("deal.check-status", {"contractId": "T-5001",
                                                                             "statusChecks": 4,
                                                                             "maxStatusChecks": 5}),
                           deps(tmp_path, contract("SIGN")))  # fmt: skip
    assert isinstance(command, Throw) and command.code == "CONTRACT_NOT_EXECUTED"
    assert command.message == ("contract T-5001 still SIGN after 5 status checks and no webhook: follow up with "
                               "the counterparty in SpotDraft")  # fmt: skip


async def test_a_draft_at_the_last_check_hints_at_a_declined_signature(tmp_path: Path) -> None:
    with pytest.raises(BusinessError) as info:
        await handle(given(maxStatusChecks=1), job(), deps(tmp_path, contract("DRAFT")))
    assert "declined" in info.value.message


@pytest.mark.parametrize("status", ["EXECUTED", "VOIDED"])
async def test_a_final_status_at_the_last_check_completes(tmp_path: Path, status: str) -> None:
    command = await decide(check_status.SPEC, zeebe_job("deal.check-status", {"contractId": "T-5001",
                                                                             "statusChecks": 9,
                                                                             "maxStatusChecks": 5}),
                           deps(tmp_path, contract(status)))  # fmt: skip
    assert isinstance(command, Complete)
    assert command.variables == {"contractStatus": status, "statusChecks": 10}


async def test_a_429_is_waited_out_and_a_5xx_retried(tmp_path: Path) -> None:
    spotdraft = contract("SIGN")
    spotdraft.fail["get_status"] = [ProviderRateLimited("HTTP 429", 0.0)]
    assert (await handle(given(), job(), deps(tmp_path, spotdraft))).contract_status == "SIGN"

    spotdraft.fail["get_status"] = [ProviderRateLimited("HTTP 429", 999.0)]
    with pytest.raises(TransientError) as info:
        await handle(given(), job(seconds_left=30), deps(tmp_path, spotdraft))
    assert not info.value.spend_retry

    spotdraft.fail["get_status"] = [ProviderUnavailable("SpotDraft at sd.test: HTTP 500")]
    command = await decide(check_status.SPEC, zeebe_job("deal.check-status", {"contractId": "T-5001"}),
                           deps(tmp_path, spotdraft))  # fmt: skip
    assert isinstance(command, Fail) and "HTTP 500" in command.message
