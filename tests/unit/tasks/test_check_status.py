"""contract.check-status: the reconcile bound (CONTRACT_NOT_READY after maxReconcileAttempts checks that
still find the document processing), with a fake provider."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from workers.errors import BusinessError
from workers.providers.base import Document
from workers.tasks import check_status
from workers.tasks.check_status import NOT_READY, CheckStatusInput, handle

from .fakes import FakeProvider, deps, job


def provider_with(status: str) -> FakeProvider:
    return FakeProvider(documents={"doc-9": Document("doc-9", status, "nda-001")})  # type: ignore[arg-type]


def given(attempts: int, max_attempts: int | None = None) -> CheckStatusInput:
    variables: dict = {"docId": "doc-9", "reconcileAttempts": attempts}
    if max_attempts is not None:
        variables["maxReconcileAttempts"] = max_attempts
    return CheckStatusInput.model_validate(variables)


async def test_a_check_below_the_bound_counts_the_attempt(tmp_path: Path) -> None:
    provider = provider_with("processing")
    out = await handle(given(0), job(), deps(tmp_path, provider))
    assert (out.contract_status, out.reconcile_attempts) == ("processing", 1)
    assert provider.called("get_document") == ["doc-9"]
    assert out.model_dump(by_alias=True) == {"contractStatus": "processing", "reconcileAttempts": 1}


async def test_the_default_bound_is_five_checks(tmp_path: Path) -> None:
    out = await handle(given(3), job(), deps(tmp_path, provider_with("processing")))
    assert out.reconcile_attempts == 4
    with pytest.raises(BusinessError) as info:
        await handle(given(4), job(), deps(tmp_path, provider_with("processing")))
    assert info.value.code == NOT_READY == "CONTRACT_NOT_READY"
    assert info.value.message == "document doc-9 still processing after 5 status checks and no webhook"


@pytest.mark.parametrize("max_attempts", [1, 2, 7])
async def test_the_bound_is_the_variable(tmp_path: Path, max_attempts: int) -> None:
    if max_attempts > 1:
        out = await handle(given(max_attempts - 2, max_attempts), job(), deps(tmp_path, provider_with("processing")))
        assert out.reconcile_attempts == max_attempts - 1
    with pytest.raises(BusinessError) as info:
        await handle(given(max_attempts - 1, max_attempts), job(), deps(tmp_path, provider_with("processing")))
    assert info.value.code == NOT_READY
    assert f"after {max_attempts} status checks" in info.value.message


@pytest.mark.parametrize("status", ["ready", "failed"])
async def test_a_settled_document_is_reported_even_on_the_last_check(tmp_path: Path, status: str) -> None:
    out = await handle(given(4), job(), deps(tmp_path, provider_with(status)))
    assert (out.contract_status, out.reconcile_attempts) == (status, 5)


@pytest.mark.parametrize(
    "variables",
    [{"docId": ""}, {"docId": "d", "reconcileAttempts": -1}, {"docId": "d", "maxReconcileAttempts": 0},
     {"docId": "d", "maxReconcileAttempts": 101}, {}],
)  # fmt: skip
def test_out_of_range_inputs_are_refused(variables: dict) -> None:
    with pytest.raises(ValidationError):
        CheckStatusInput.model_validate(variables)


def test_the_spec_declares_the_not_ready_error() -> None:
    assert NOT_READY in check_status.SPEC.error_codes
