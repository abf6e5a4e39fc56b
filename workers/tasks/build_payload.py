"""``contract.build-payload``: check that the employee's HR record fits the template, before anything is
generated.

The instance carries only the employee id (a claim check, see ``employee_data``): the record is fetched
from the HR system here, mapped onto the template's declared field list (fetched from the provider, so a
new template version is noticed) and checked: every required field filled, no undeclared field, each
value of the declared type. The output names the fields that will be sent, never their values; the
request itself is rebuilt by ``contract.generate`` where it is used.

* bad or missing data -> ``CONTRACT_DATA_INVALID`` naming every field at fault (names only);
* an employee the HR system does not know -> ``EMPLOYEE_NOT_FOUND`` (the diagram ends on a named path).
"""

from __future__ import annotations

from typing import Any

from workers.errors import ContractDataInvalid
from workers.tasks.employee_data import EmployeeRef, contract_data
from workers.tasks.hr_errors import EMPLOYEE_NOT_FOUND
from workers.tasks.runtime import JobInfo, TaskModel, TaskSpec


class BuildPayloadInput(EmployeeRef):
    pass


class BuildPayloadOutput(TaskModel):
    contract_fields: list[str]
    template_version: str


async def handle(data: BuildPayloadInput, job: JobInfo, deps: Any) -> BuildPayloadOutput:
    template, payload = await contract_data(deps, data, job)
    return BuildPayloadOutput(contract_fields=sorted(payload), template_version=template.version)


SPEC = TaskSpec(
    type="contract.build-payload",
    name="Contract: check employee record",
    description="Fetches the employee's HR record and checks it against the template's declared fields; "
    "outputs field names only.",
    input_model=BuildPayloadInput,
    output_model=BuildPayloadOutput,
    handler=handle,
    error_codes=(ContractDataInvalid.CODE, EMPLOYEE_NOT_FOUND),
    timeout_ms=30_000,
    retries=3,
)
