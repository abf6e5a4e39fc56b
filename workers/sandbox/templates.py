"""The sandbox's template registry and the validation a provider applies to generation data.

Each template has an id, a version (seed 000, "Version Management") and typed fields. Field types are
the ones ``workers.providers.base.FieldType`` knows: string, email, date, number, boolean.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

FieldType = Literal["string", "email", "date", "number", "boolean"]

# Problems reported per field in a 422 ``validation_failed`` answer.
MISSING = "missing"
UNKNOWN = "unknown"
INVALID_TYPE = "invalid_type"

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: FieldType = "string"
    required: bool = True
    label: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "required": self.required}


@dataclass(frozen=True)
class TemplateSpec:
    template_id: str
    version: str
    title: str
    fields: tuple[FieldSpec, ...]
    # Clause text printed in the rendered document; ``{field}`` placeholders are filled from the data.
    clauses: tuple[str, ...] = field(default=())

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "template_id": self.template_id,
            "version": self.version,
            "title": self.title,
            "fields": [f.to_json() for f in self.fields],
        }


def _type_ok(kind: FieldType, value: Any) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "email":
        return isinstance(value, str) and bool(_EMAIL.match(value))
    if kind == "date":
        if not isinstance(value, str) or not _ISO_DATE.match(value):
            return False
        try:
            date.fromisoformat(value)
        except ValueError:
            return False
        return True
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    return False


def validate(template: TemplateSpec, data: dict[str, Any]) -> list[dict[str, str]]:
    """Problems with ``data`` for ``template``: ``[{"name", "problem"}]``, empty when the data fits.

    A required field that is absent, ``null`` or an empty/blank string is ``missing``; an optional field
    may be absent or ``null``. Names not in the template are ``unknown``. Values of the wrong JSON type
    (or a malformed email / ISO-8601 date) are ``invalid_type``.
    """
    problems: list[dict[str, str]] = []
    for spec in template.fields:
        value = data.get(spec.name)
        absent = value is None or (isinstance(value, str) and not value.strip())
        if absent:
            if spec.required:
                problems.append({"name": spec.name, "problem": MISSING})
            continue
        if not _type_ok(spec.type, value):
            problems.append({"name": spec.name, "problem": INVALID_TYPE})
    known = {f.name for f in template.fields}
    for name in sorted(set(data) - known):
        problems.append({"name": name, "problem": UNKNOWN})
    return problems


NDA_001 = TemplateSpec(
    template_id="nda-001",
    version="3",
    title="Mutual Non-Disclosure Agreement",
    fields=(
        FieldSpec("employee_name", "string", True, "Employee name"),
        FieldSpec("employee_email", "email", True, "Employee email"),
        FieldSpec("start_date", "date", True, "Start date"),
        FieldSpec("confidentiality_level", "string", False, "Confidentiality level"),
    ),
    clauses=(
        "1. The Employee named above agrees to hold in confidence all Confidential Information "
        "disclosed by the Company from the start date onwards.",
        "2. Confidential Information is used solely for performing the Employee's duties and is not "
        "disclosed to third parties without prior written consent.",
        "3. These obligations survive the end of the employment relationship.",
    ),
)

DPA_001 = TemplateSpec(
    template_id="dpa-001",
    version="2",
    title="Data Processing Agreement",
    fields=(
        FieldSpec("controller_name", "string", True, "Controller"),
        FieldSpec("processor_name", "string", True, "Processor"),
        FieldSpec("contact_email", "email", True, "Contact email"),
        FieldSpec("effective_date", "date", True, "Effective date"),
        FieldSpec("data_categories", "string", False, "Data categories"),
        FieldSpec("international_transfers", "boolean", False, "International transfers"),
        FieldSpec("retention_days", "number", False, "Retention (days)"),
    ),
    clauses=(
        "1. The Processor processes personal data only on documented instructions from the Controller "
        "(GDPR Art. 28(3)(a)).",
        "2. The Processor ensures that persons authorised to process the personal data have committed "
        "themselves to confidentiality.",
        "3. The Processor deletes or returns all personal data at the end of the provision of services.",
    ),
)

REGISTRY: dict[str, TemplateSpec] = {t.template_id: t for t in (NDA_001, DPA_001)}


def get_template(template_id: str, registry: dict[str, TemplateSpec] | None = None) -> TemplateSpec | None:
    return (REGISTRY if registry is None else registry).get(template_id)


def default_registry() -> dict[str, TemplateSpec]:
    """A fresh copy, so a test may add or replace templates on one ``SandboxState`` only."""
    return dict(REGISTRY)
