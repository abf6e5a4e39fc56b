"""contract.build-payload: the record is fetched from the HR system by id (claim check), checked against
the template the provider declares, and only field *names* come back (fake HR and provider, no HTTP)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workers.errors import BusinessError, ContractDataInvalid, TransientError
from workers.hr.base import HrUnavailable
from workers.providers.base import Template, TemplateField
from workers.tasks.build_payload import SPEC, BuildPayloadInput, handle
from workers.tasks.runtime import decide

from .fakes import GRACE, FakeHr, FakeProvider, deps, job


def given(**variables: object) -> BuildPayloadInput:
    return BuildPayloadInput.model_validate({"employeeId": "E-4242", **variables})


async def test_the_output_names_the_fields_and_carries_no_value(tmp_path: Path) -> None:
    hr = FakeHr()
    out = await handle(given(), job(), deps(tmp_path, hr=hr))

    assert hr.called("get_employee") == ["E-4242"]
    assert out.contract_fields == ["confidentiality_level", "employee_email", "employee_name", "job_title",
                                   "start_date"]  # fmt: skip
    assert out.template_version == "3"
    dumped = json.dumps(out.model_dump(by_alias=True))
    for value in GRACE.values():
        assert value not in dumped


async def test_the_template_named_by_the_instance_is_used(tmp_path: Path) -> None:
    provider = FakeProvider(templates={"t-2": Template("t-2", "9", (TemplateField("employee_name"),))})
    out = await handle(given(templateId="t-2"), job(), deps(tmp_path, provider))
    assert provider.called("get_template") == ["t-2"]
    assert (out.contract_fields, out.template_version) == (["employee_name"], "9")


async def test_bad_data_names_the_fields(tmp_path: Path) -> None:
    hr = FakeHr(records={"E-4242": {**GRACE, "email": "grace-at-example", "startDate": None}})
    with pytest.raises(ContractDataInvalid) as info:
        await handle(given(), job(), deps(tmp_path, hr=hr))
    assert info.value.fields == ["employee_email", "start_date"]
    assert "grace-at-example" not in info.value.message


async def test_an_employee_the_hr_system_does_not_know_is_a_named_bpmn_error(tmp_path: Path) -> None:
    with pytest.raises(BusinessError) as info:
        await handle(given(employeeId="E-9999"), job(), deps(tmp_path))
    assert info.value.code == "EMPLOYEE_NOT_FOUND"
    assert "E-9999" in info.value.message
    assert "EMPLOYEE_NOT_FOUND" in SPEC.error_codes


async def test_the_hr_system_down_is_retried(tmp_path: Path) -> None:
    hr = FakeHr(fail={"get_employee": [HrUnavailable("HR system answered HTTP 503 on GET /employees/E-4242")]})
    with pytest.raises(TransientError) as info:
        await handle(given(), job(), deps(tmp_path, hr=hr))
    assert "fetching employee E-4242 failed" in info.value.message


@pytest.mark.parametrize("variables", [{}, {"employeeId": "../etc"}, {"employeeId": ""}])
async def test_a_missing_or_malformed_employee_id_is_a_bpmn_error_naming_the_field(tmp_path: Path,
                                                                                   variables: dict) -> None:  # fmt: skip
    from types import SimpleNamespace

    fake_job = SimpleNamespace(variables=variables, key=1, process_instance_key=2, bpmn_process_id="employee-nda",
                               element_id="build_payload", retries=3, deadline=0)  # fmt: skip
    command = await decide(SPEC, fake_job, deps(tmp_path))
    assert command.code == "CONTRACT_DATA_INVALID"  # type: ignore[union-attr]
    assert command.variables["contractError"]["fields"] == ["employeeId"]  # type: ignore[union-attr]
