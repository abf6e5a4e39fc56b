"""contract.build-payload: ``map_employee`` per field type, missing and invalid fields (named, never their
values), and the handler's request built from the provider's template (fake provider, no HTTP)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.errors import ContractDataInvalid
from workers.providers.base import Template, TemplateField
from workers.tasks.build_payload import BuildPayloadInput, Employee, handle, map_employee

from .fakes import NDA, FakeProvider, deps, job

RECORD = {"id": "E-1", "fullName": "Grace Hopper", "email": "grace.hopper@example.com", "startDate": "2027-01-04"}


def employee(**changes: object) -> Employee:
    values = {**RECORD, **changes}
    return Employee.model_validate({k: v for k, v in values.items() if v is not ...})


def one_field(name: str, type_: str, required: bool = True) -> Template:
    return Template("t-1", "1", (TemplateField(name, type_, required),))  # type: ignore[arg-type]


def test_the_nda_template_is_filled_from_the_hr_record() -> None:
    data = map_employee(employee(jobTitle="Rear Admiral"), NDA, "high")
    assert data == {"employee_name": "Grace Hopper", "employee_email": "grace.hopper@example.com",
                    "start_date": "2027-01-04", "confidentiality_level": "high", "job_title": "Rear Admiral"}  # fmt: skip


def test_fields_the_template_does_not_declare_are_never_sent() -> None:
    data = map_employee(employee(salary=123456, homeAddress="1 Navy Yard"), NDA, "high")
    assert set(data) == {"employee_name", "employee_email", "start_date", "confidentiality_level"}


@pytest.mark.parametrize(
    ("type_", "good", "bad"),
    [
        ("string", "Rear Admiral", ["   ", 42, True]),
        ("email", "a.b@example.com", ["not-an-email", "two@@example.com", "no-dot@example", 7]),
        ("date", "2027-01-04", ["2027-13-01", "04/01/2027", 20270104]),
        ("number", 123456, ["123456", True]),
        ("boolean", False, ["false", 0]),
    ],
)
def test_each_field_type_accepts_its_values_and_names_the_field_otherwise(type_: str, good: object, bad: list) -> None:
    template = one_field("custom_field", type_)
    assert map_employee(employee(custom_field=good), template, None) == {"custom_field": good}
    for value in bad:
        with pytest.raises(ContractDataInvalid) as info:
            map_employee(employee(custom_field=value), template, None)
        error = info.value
        assert error.code == "CONTRACT_DATA_INVALID"
        assert error.fields == ["custom_field"], value
        assert f"employee.custom_field (template field custom_field) is not a valid {type_}" in error.message
        assert repr(value) not in error.message and f" {value} " not in error.message


def test_number_accepts_floats() -> None:
    assert map_employee(employee(custom_field=1.5), one_field("custom_field", "number"), None) == {"custom_field": 1.5}


@pytest.mark.parametrize("missing", [..., None, ""])
def test_a_missing_required_field_is_named(missing: object) -> None:
    with pytest.raises(ContractDataInvalid) as info:
        map_employee(employee(startDate=missing), NDA, "high")
    assert info.value.fields == ["start_date"]
    assert "employee.startDate (template field start_date) is missing" in info.value.message


def test_a_missing_optional_field_is_left_out() -> None:
    assert "job_title" not in map_employee(employee(), NDA, "high")


def test_confidentiality_level_comes_from_the_task_input_not_the_record() -> None:
    with pytest.raises(ContractDataInvalid) as info:
        map_employee(employee(confidentiality_level="low"), NDA, None)
    assert info.value.fields == ["confidentiality_level"]
    assert "confidentialityLevel (template field confidentiality_level) is missing" in info.value.message


def test_every_bad_field_is_named_and_no_value_reaches_the_message() -> None:
    bad = employee(email="grace.hopper-at-example.com", startDate=None, fullName="   ")
    with pytest.raises(ContractDataInvalid) as info:
        map_employee(bad, NDA, "high")
    error = info.value
    assert error.fields == ["employee_email", "employee_name", "start_date"]
    assert error.message.startswith("employee E-1 does not fit template nda-001 v3: ")
    for name in ("employee.email", "employee.startDate", "employee.fullName"):
        assert name in error.message
    assert "grace.hopper-at-example.com" not in error.message


async def test_handle_builds_the_request_from_the_template_it_fetched(tmp_path: Path) -> None:
    provider = FakeProvider(templates={"nda-001": NDA, "nda-002": one_field("employee_name", "string")})
    data = BuildPayloadInput.model_validate({"employee": {**RECORD, "salary": 1}, "templateId": "nda-002"})

    out = await handle(data, job(), deps(tmp_path, provider))

    assert provider.called("get_template") == ["nda-002"]
    request = out.contract_request
    assert (request.template_id, request.template_version) == ("t-1", "1")
    assert request.data == {"employee_name": "Grace Hopper"}
    assert request.metadata == {"request_id": "E-1", "initiated_by": "HR_TEST", "template_version": "1"}
    assert set(out.model_dump(by_alias=True)["contractRequest"]) == {"templateId", "templateVersion", "data", "metadata"}


async def test_handle_raises_for_bad_data_after_fetching_the_template(tmp_path: Path) -> None:
    provider = FakeProvider()
    data = BuildPayloadInput.model_validate({"employee": {**RECORD, "email": "nope"}})
    with pytest.raises(ContractDataInvalid) as info:
        await handle(data, job(), deps(tmp_path, provider))
    assert info.value.fields == ["employee_email"]
    assert provider.called("get_template") == ["nda-001"]  # the default template
