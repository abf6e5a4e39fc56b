"""The start contract of employee-nda: the checked-in JSON Schema is the model's (drift test), the sample
validates against it, and personal data is refused before anything reaches the engine."""

from __future__ import annotations

import json

import jsonschema
import pytest

from workers import start_contract
from workers.start_contract import DOCS, StartRejected, validate_start


def test_the_checked_in_schema_is_generated_from_the_model() -> None:
    path = DOCS / "employee-nda.schema.json"
    assert path.read_text() == start_contract.schema_text("employee-nda"), (
        "out of date: python -m workers.start_contract --write")
    assert start_contract.main([]) == 0


def test_the_sample_and_the_examples_fit_the_schema_and_the_model() -> None:
    schema = json.loads((DOCS / "employee-nda.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    sample = json.loads((DOCS / "employee-nda.sample.json").read_text())
    for variables in (sample, *schema["examples"], {"employeeId": "101"}):
        jsonschema.validate(variables, schema)
        assert validate_start("employee-nda", variables)["employeeId"] == variables["employeeId"]


@pytest.mark.parametrize(("variables", "field"), [
    ({"employee": {"id": "101", "email": "maren.holt@example.com"}}, "employee"),
    ({"employeeId": "101", "fullName": "Maren Holt"}, "fullName"),
    ({"employeeId": "../101"}, "employeeId"),
    ({}, "employeeId"),
    ({"employeeId": "101", "reconcileAfter": "2 minutes"}, "reconcileAfter"),
    ({"employeeId": "101", "maxReconcileAttempts": 0}, "maxReconcileAttempts"),
])
def test_anything_else_is_refused_naming_the_field_never_the_value(variables: dict, field: str) -> None:
    schema = json.loads((DOCS / "employee-nda.schema.json").read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(variables, schema)
    with pytest.raises(StartRejected) as info:
        validate_start("employee-nda", variables)
    assert field in info.value.fields
    for value in ("maren.holt@example.com", "Maren Holt", "2 minutes"):
        assert value not in str(info.value)


def test_defaults_are_left_to_the_process_and_other_processes_pass_through() -> None:
    assert validate_start("employee-nda", {"employeeId": "101"}) == {"employeeId": "101"}
    assert validate_start("contract-ping", {"message": "x"}) == {"message": "x"}
