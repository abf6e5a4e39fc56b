"""``contract.prune-pii``: decide what may leave with the document, and scrub the instance.

``prune`` is what ``contract.upload-dms`` applies to the HR record it fetches. The *task* only serves
instances of ``employee-nda`` v1, which carried the record in variables; v2 never puts personal data in
the engine (claim check), so it has nothing to scrub and no prune step. Kept so v1 instances still
running finish; remove it once none is left (Operate: process ``employee-nda``, version 1).

Only scalar fields on the template's allow-list (``PII_ALLOW_LIST``) plus our own tracking keys go to
the DMS; a dict or list under an allowed key is dropped unless a dotted entry (``"address.city"``) names
the one nested scalar that may go. The output names the dropped fields, never their values. It also overwrites the instance's
``employee`` and ``contractRequest`` variables, so that after this step the instance keeps only the
employee id and the allow-listed metadata (Operate shows current values to everyone who can see it).
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from pydantic import Field

from workers.tasks.runtime import JobInfo, TaskModel, TaskSpec


class ContractRequest(TaskModel):
    """The ``contractRequest`` variable of employee-nda v1 instances (v2 never builds one in the engine)."""

    template_id: str
    template_version: str
    data: dict[str, Any]
    metadata: dict[str, str]


class PruneInput(TaskModel):
    contract_request: ContractRequest = Field(description="=contractRequest")
    doc_id: str = Field(min_length=1, description="=docId")


class RemainingEmployee(TaskModel):
    id: str


class PruneOutput(TaskModel):
    dms_metadata: dict[str, str]
    dropped_fields: list[str]
    employee: RemainingEmployee
    contract_request: None = None


def _scalar(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, (str, int, date))  # bool is an int; datetime is a date


def _walk(path: str, value: Any, allowed: set[str], kept: dict[str, str], dropped: set[str]) -> None:
    """Keep ``value`` at ``path`` only when the path itself is allowed and the value is a scalar; descend
    into a dict only where a dotted allow-list entry (``"address.city"``) reaches below ``path``."""
    if path in allowed:
        if _scalar(value):
            kept[path] = str(value)
        else:
            dropped.add(path)  # a dict/list under an allowed key does not pass whole
        return
    if isinstance(value, dict) and any(entry.startswith(path + ".") for entry in allowed):
        for key, child in value.items():
            _walk(f"{path}.{key}", child, allowed, kept, dropped)
        return
    dropped.add(path)


def prune(template_id: str, data: dict[str, Any], metadata: dict[str, str], allow: dict[str, list[str]],
          always: list[str]) -> tuple[dict[str, str], list[str]]:  # fmt: skip
    """(what may go to the DMS, the names of everything else). Only scalar values (str, int, float, bool,
    date) of allow-listed fields pass; a nested value passes only through an explicit dotted entry
    (``"address.city"`` keeps that one scalar, as key ``address.city``). Values are never named."""
    allowed = set(allow.get(template_id, []))
    kept: dict[str, str] = {}
    dropped: set[str] = set()
    for key, value in data.items():
        _walk(str(key), value, allowed, kept, dropped)
    kept.update({k: str(v) for k, v in metadata.items() if k in always})
    dropped |= {k for k in metadata if k not in always}
    return kept, sorted(dropped)


async def handle(data: PruneInput, job: JobInfo, deps: Any) -> PruneOutput:
    req = data.contract_request
    metadata = {**req.metadata, "template_id": req.template_id, "doc_id": data.doc_id}
    kept, dropped = prune(req.template_id, req.data, metadata, deps.pii.allow_list, deps.pii.always_allowed)
    return PruneOutput(
        dms_metadata=kept,
        dropped_fields=dropped,
        employee=RemainingEmployee(id=req.metadata.get("request_id", "")),
    )


SPEC = TaskSpec(
    type="contract.prune-pii",
    name="Contract: prune personal data",
    description="Keeps only allow-listed fields for the DMS and scrubs personal data from the instance.",
    input_model=PruneInput,
    output_model=PruneOutput,
    handler=handle,
    timeout_ms=10_000,
    retries=3,
)
