"""deal.send-contract: only a DRAFT is sent; a contract already sent (REDLINING, SIGN) or EXECUTED is left
alone, so a retried job never e-mails the counterparty twice; a state SpotDraft refuses is
CONTRACT_STATE_INVALID (fake SpotDraft)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.errors import BusinessError, TransientError
from workers.providers.base import ProviderRateLimited, ProviderUnavailable
from workers.providers.spotdraft.errors import ContractStateInvalid
from workers.tasks.deal import send_contract
from workers.tasks.deal.send_contract import SendContractInput, handle
from workers.tasks.runtime import Fail, Throw, decide

from .fakes import FakeSpotDraft, deps, job, zeebe_job

GIVEN = SendContractInput.model_validate({"contractId": "T-5001"})


async def test_a_draft_is_sent_once_and_its_new_status_reported(tmp_path: Path) -> None:
    spotdraft = FakeSpotDraft()
    spotdraft.add("1001")
    out = await handle(GIVEN, job(), deps(tmp_path, spotdraft))
    assert spotdraft.called("send_to_counterparties") == ["T-5001"]
    assert out.contract_status == "REDLINING"


async def test_a_retried_job_finds_it_sent_and_sends_nothing(tmp_path: Path) -> None:
    spotdraft = FakeSpotDraft()
    spotdraft.add("1001")
    d = deps(tmp_path, spotdraft)
    await handle(GIVEN, job(key=1), d)
    again = await handle(GIVEN, job(key=2), d)
    assert spotdraft.records["T-5001"].sends == 1 and again.contract_status == "REDLINING"


@pytest.mark.parametrize("status", ["REDLINING", "SIGN", "EXECUTED"])
async def test_a_contract_already_sent_or_executed_is_left_alone(tmp_path: Path, status: str) -> None:
    spotdraft = FakeSpotDraft()
    spotdraft.add("1001", status=status)
    out = await handle(GIVEN, job(), deps(tmp_path, spotdraft))
    assert spotdraft.called("send_to_counterparties") == [] and out.contract_status == status


@pytest.mark.parametrize("status", ["VOIDED", "ON_HOLD"])
async def test_a_contract_that_cannot_be_sent_is_contract_state_invalid(tmp_path: Path, status: str) -> None:
    spotdraft = FakeSpotDraft()
    spotdraft.add("1001", status=status)
    command = await decide(send_contract.SPEC, zeebe_job("deal.send-contract", {"contractId": "T-5001"}),
                           deps(tmp_path, spotdraft))  # fmt: skip
    assert isinstance(command, Throw) and command.code == "CONTRACT_STATE_INVALID"
    assert f"contract T-5001 is {status}" in command.message
    assert spotdraft.called("send_to_counterparties") == []


async def test_a_402_from_spotdraft_is_contract_state_invalid_with_a_readable_message(tmp_path: Path) -> None:
    refused = ContractStateInvalid("SpotDraft at sd.test refused POST /v2.1/public/contracts/T-5001/"
                                   "send_to_counterparties in the contract's current workflow state (HTTP 402)")
    spotdraft = FakeSpotDraft(fail={"send_to_counterparties": [refused]})
    spotdraft.add("1001")
    with pytest.raises(BusinessError) as info:
        await handle(GIVEN, job(), deps(tmp_path, spotdraft))
    assert info.value.code == "CONTRACT_STATE_INVALID"
    assert "sending contract T-5001" in info.value.message and "HTTP 402" in info.value.message


async def test_a_429_is_waited_out_and_a_5xx_retried(tmp_path: Path) -> None:
    spotdraft = FakeSpotDraft(fail={"send_to_counterparties": [ProviderRateLimited("HTTP 429", 0.0)]})
    spotdraft.add("1001")
    out = await handle(GIVEN, job(), deps(tmp_path, spotdraft))
    assert out.contract_status == "REDLINING" and spotdraft.records["T-5001"].sends == 1

    spotdraft = FakeSpotDraft(fail={"get_status": [ProviderRateLimited("HTTP 429", 999.0)]})
    spotdraft.add("1001")
    with pytest.raises(TransientError) as info:
        await handle(GIVEN, job(seconds_left=30), deps(tmp_path, spotdraft))
    assert not info.value.spend_retry

    spotdraft = FakeSpotDraft(fail={"get_status": [ProviderUnavailable("SpotDraft at sd.test: HTTP 502")]})
    spotdraft.add("1001")
    command = await decide(send_contract.SPEC, zeebe_job("deal.send-contract", {"contractId": "T-5001"}),
                           deps(tmp_path, spotdraft))  # fmt: skip
    assert isinstance(command, Fail) and command.retries == 2


async def test_a_contract_id_that_is_not_a_composite_id_is_refused(tmp_path: Path) -> None:
    command = await decide(send_contract.SPEC, zeebe_job("deal.send-contract", {"contractId": "5001"}),
                           deps(tmp_path))  # fmt: skip
    assert isinstance(command, Throw) and command.variables["contractError"]["fields"] == ["contractId"]
