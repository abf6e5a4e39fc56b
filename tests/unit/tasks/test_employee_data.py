"""The claim check's mapping (``employee_data.map_employee``): the HR record onto the template's declared
fields, per field type; missing and invalid fields are named, never their values."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.errors import ContractDataInvalid
from workers.providers.base import Template, TemplateField
from workers.tasks import employee_data

from .fakes import NDA

RECORD = {"fullName": "Grace Hopper", "email": "grace.hopper@example.com", "startDate": "2027-01-04"}


def employee(**changes: object) -> dict[str, object]:
    values = {**RECORD, **changes}
    return {k: v for k, v in values.items() if v is not ...}


def map_employee(record: dict[str, object], template: Template, level: str | None) -> dict[str, object]:
    return employee_data.map_employee("E-1", record, template, level)


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
        assert f"HR record custom_field (template field custom_field) is not a valid {type_}" in error.message
        assert repr(value) not in error.message and f" {value} " not in error.message


def test_number_accepts_floats() -> None:
    assert map_employee(employee(custom_field=1.5), one_field("custom_field", "number"), None) == {"custom_field": 1.5}


@pytest.mark.parametrize("missing", [..., None, ""])
def test_a_missing_required_field_is_named(missing: object) -> None:
    with pytest.raises(ContractDataInvalid) as info:
        map_employee(employee(startDate=missing), NDA, "high")
    assert info.value.fields == ["start_date"]
    assert "HR record startDate (template field start_date) is missing" in info.value.message


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
    for name in ("HR record email", "HR record startDate", "HR record fullName"):
        assert name in error.message
    assert "grace.hopper-at-example.com" not in error.message


def test_collect_keeps_what_fits_and_reports_the_rest_without_raising() -> None:
    data, problems, fields = employee_data.collect(employee(email="nope", jobTitle="Admiral"), NDA, "high")
    assert data == {"employee_name": "Grace Hopper", "start_date": "2027-01-04", "confidentiality_level": "high",
                    "job_title": "Admiral"}  # fmt: skip
    assert fields == ["employee_email"] and len(problems) == 1 and "nope" not in problems[0]
