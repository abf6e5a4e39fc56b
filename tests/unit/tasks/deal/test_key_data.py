"""deal.key-data: the contract's key pointers as text, typed business values only (fake SpotDraft with the
sandbox's template 101 key pointers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.errors import TransientError
from workers.providers.base import ProviderRateLimited, ProviderUnavailable
from workers.providers.spotdraft.models import KeyPointer
from workers.tasks.deal import key_data
from workers.tasks.deal.key_data import KeyDataInput, handle, render
from workers.tasks.runtime import Complete, decide

from .fakes import FakeSpotDraft, assert_no_personal_data, deps, job, zeebe_job

GIVEN = KeyDataInput.model_validate({"contractId": "T-5001"})


def executed(**data: object) -> FakeSpotDraft:
    spotdraft = FakeSpotDraft()
    spotdraft.add("1001", status="EXECUTED", data={
        "customer_name": "Northwind Supply GmbH", "effective_date": "2026-06-30",
        "contract_value": {"type": "EUR", "value": 48000}, "term": {"type": "MONTHS", "value": 12},
        **data})  # fmt: skip
    return spotdraft


async def test_the_msa_key_data_as_text(tmp_path: Path) -> None:
    out = await handle(GIVEN, job(), deps(tmp_path, executed(notice_period_days=60, auto_renewal=True)))
    assert out.contract_key_data == {
        "effective_date": "2026-06-30",
        "contract_value": "48000.00 EUR",
        "term": "12 MONTHS",
        "renewal_date": "2027-06-30",
        "auto_renewal": "true",
        "notice_period": "60 DAYS",
    }
    assert_no_personal_data(out)
    assert "Northwind" not in out.model_dump_json()


async def test_the_command_is_one_variable_of_texts(tmp_path: Path) -> None:
    command = await decide(key_data.SPEC, zeebe_job("deal.key-data", {"contractId": "T-5001"}),
                           deps(tmp_path, executed()))  # fmt: skip
    assert isinstance(command, Complete) and list(command.variables) == ["contractKeyData"]
    assert command.variables["contractKeyData"]["auto_renewal"] == "false"
    assert all(isinstance(v, str) for v in command.variables["contractKeyData"].values())


@pytest.mark.parametrize(("pointer", "expected"), [
    (KeyPointer("contract_value", "Value", {"type": "EUR", "value": 1250.5}, "currency"), "1250.50 EUR"),
    (KeyPointer("term", "Term", {"type": "YEARS", "value": 2, "days": 730}, "duration"), "2 YEARS"),
    (KeyPointer("effective_date", "Date", "2026-06-30", "date"), "2026-06-30"),
    (KeyPointer("auto_renewal", "Renews", False, "boolean"), "false"),
    (KeyPointer("seats", "Seats", 25, "number"), "25"),
    # dropped: text may name a person; values without their type's shape; nothing at all
    (KeyPointer("counterparty_name", "Counterparty", "Ines Alvarez", "text"), None),
    (KeyPointer("signatory_email", "Signatory", "ines.alvarez@example.com", "email"), None),
    (KeyPointer("contract_value", "Value", {"type": "euro", "value": 1}, "currency"), None),
    (KeyPointer("contract_value", "Value", "48000 EUR", "currency"), None),
    (KeyPointer("effective_date", "Date", "Ines Alvarez", "date"), None),
    (KeyPointer("auto_renewal", "Renews", "yes", "boolean"), None),
    (KeyPointer("seats", "Seats", True, "number"), None),
    (KeyPointer("renewal_date", "Renewal", None, "date"), None),
])
def test_rendering_keeps_typed_business_values_only(pointer: KeyPointer, expected: str | None) -> None:
    assert render(pointer) == expected


async def test_a_counterparty_key_pointer_never_reaches_the_output(tmp_path: Path) -> None:
    spotdraft = executed()

    async def with_party(composite_id: str) -> list[KeyPointer]:
        return [KeyPointer("counterparty_name", "Counterparty", "Ines Alvarez", "text"),
                KeyPointer("effective_date", "Effective Date", "2026-06-30", "date")]  # fmt: skip

    spotdraft.key_pointers = with_party  # type: ignore[method-assign]
    out = await handle(GIVEN, job(), deps(tmp_path, spotdraft))
    assert out.contract_key_data == {"effective_date": "2026-06-30"}
    assert_no_personal_data(out)


async def test_a_429_is_waited_out_and_a_5xx_retried(tmp_path: Path) -> None:
    spotdraft = executed()
    spotdraft.fail["key_pointers"] = [ProviderRateLimited("HTTP 429", 0.0)]
    assert (await handle(GIVEN, job(), deps(tmp_path, spotdraft))).contract_key_data["term"] == "12 MONTHS"
    spotdraft.fail["key_pointers"] = [ProviderUnavailable("SpotDraft at sd.test: HTTP 503")]
    with pytest.raises(TransientError) as info:
        await handle(GIVEN, job(), deps(tmp_path, spotdraft))
    assert "HTTP 503" in info.value.message and info.value.spend_retry
