"""The documented start contract of each shipped process: the variables a caller may start it with.

One pydantic model per process is the source of truth; the JSON Schema in
``docs/start-contract/<process>.schema.json`` is generated from it (``python -m workers.start_contract
--write``; ``tests/unit/test_start_contract.py`` fails while the checked-in file lags behind), and
``contract-workers start`` validates against it before anything reaches the engine.

The contract is deliberately closed (``additionalProperties: false``): whatever a caller puts into start
variables is kept by Zeebe's exporters for good, so a personal value (a name, an email, a whole employee
record) must be refused *before* the engine sees it. Personal data stays in the HR system; the process
carries the employee's id.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from workers.config import PROJECT_ROOT
from workers.tasks.employee_data import EMPLOYEE_ID_PATTERN

DOCS = PROJECT_ROOT / "docs" / "start-contract"
# ISO-8601 duration as FEEL's duration() reads it for the reconcile timer: PT30S, PT2M, P1DT2H…
_TIME = r"T(\d+H(\d+M)?(\d+(\.\d+)?S)?|\d+M(\d+(\.\d+)?S)?|\d+(\.\d+)?S)"
ISO_DURATION = rf"^P(\d+D({_TIME})?|{_TIME})$"


class StartRejected(ValueError):
    """The variables do not fit the start contract; ``str()`` names fields and reasons, never values."""

    def __init__(self, message: str, fields: list[str]) -> None:
        super().__init__(message)
        self.fields = fields


class EmployeeNdaStart(BaseModel):
    """Start variables of ``employee-nda`` (also what the bridge's ``employee-hired`` message carries)."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True,
        title="employee-nda start variables",
        json_schema_extra={"examples": [{"employeeId": "101", "templateId": "nda-001"}]},
    )  # fmt: skip

    employee_id: str = Field(pattern=EMPLOYEE_ID_PATTERN, description=(
        "The HR system's employee id. The only reference to the person: the workers fetch the record "
        "from the HR system (BambooHR) where they need it."))  # fmt: skip
    template_id: str = Field(default="nda-001", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$",
                             description="The provider's template (generator) id.")  # fmt: skip
    confidentiality_level: str | None = Field(default="high", max_length=32,
                                              description="Fills the template's confidentiality_level field.")  # fmt: skip
    reconcile_after: str | None = Field(default=None, pattern=ISO_DURATION, description=(
        "How long to wait for the provider's webhook before asking for the status (ISO-8601 duration; "
        "PT2M when absent)."))  # fmt: skip
    max_reconcile_attempts: int = Field(default=5, ge=1, le=100,
                                        description="Status checks before the instance gives up.")  # fmt: skip
    hr_event_id: str | None = Field(default=None, max_length=256,
                                    description="Set by the bridge: the HR webhook's event id.")  # fmt: skip
    hr_event_type: str | None = Field(default=None, max_length=64,
                                      description="Set by the bridge: the HR webhook's event type.")  # fmt: skip


CONTRACTS: dict[str, type[BaseModel]] = {"employee-nda": EmployeeNdaStart}


def schema(process_id: str) -> dict[str, Any]:
    model = CONTRACTS[process_id]
    generated = model.model_json_schema(by_alias=True)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://contract-workers.example/start-contract/{process_id}.schema.json",
        **generated,
        "description": (f"Start variables of the BPMN process '{process_id}'. Generated from "
                        f"workers.start_contract.{model.__name__}; do not edit by hand."),  # fmt: skip
    }


def schema_text(process_id: str) -> str:
    return json.dumps(schema(process_id), indent=2, sort_keys=True) + "\n"


def validate_start(process_id: str, variables: dict[str, Any]) -> dict[str, Any]:
    """The variables to send (defaults left out, camelCase), or ``StartRejected`` naming the fields.
    Processes without a contract pass through unchanged."""
    model = CONTRACTS.get(process_id)
    if model is None:
        return variables
    try:
        parsed = model.model_validate(variables)
    except ValidationError as exc:
        parts, fields = [], []
        for err in exc.errors(include_input=False, include_url=False, include_context=False):
            loc = ".".join(str(p) for p in err["loc"]) or "(root)"
            fields.append(loc)
            hint = " (personal data never goes into start variables: pass employeeId)" \
                if err["type"] == "extra_forbidden" else ""  # fmt: skip
            parts.append(f"{loc}: {err['msg'].lower()}{hint}")
        raise StartRejected(f"the variables do not fit the start contract of {process_id}: " + "; ".join(parts),
                            fields) from None  # fmt: skip
    return parsed.model_dump(mode="json", by_alias=True, exclude_unset=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write the schemas into {DOCS}")
    args = parser.parse_args(argv)
    stale = []
    for process_id in CONTRACTS:
        path = DOCS / f"{process_id}.schema.json"
        if args.write:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(schema_text(process_id))
        elif not path.exists() or path.read_text() != schema_text(process_id):
            stale.append(str(path))
    if stale:
        print("out of date (run python -m workers.start_contract --write): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["CONTRACTS", "EmployeeNdaStart", "StartRejected", "schema", "schema_text", "validate_start"]
