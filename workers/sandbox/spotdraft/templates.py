"""The SpotDraft sandbox's contract templates, the ``contract_data`` validation SpotDraft applies, and the
key pointers (contract metadata values) each template yields.

Published: ``contract_data`` is keyed by the template's field names with typed values — text, number,
boolean, date ``YYYY-MM-DD``, currency ``{"type": "<ISO currency>", "value": number}``, duration
``{"type": "DAYS|MONTHS|YEARS", "value": int, "days": int}`` (``days`` optional here). Our assumptions: an
unknown, missing or mistyped field is a 400 naming the field under ``contract_data`` in Django REST
framework's shape (``{"contract_data": {"term": ["..."]}}``); messages never quote the value.
"""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Callable, Literal

FieldKind = Literal["text", "number", "boolean", "date", "currency", "duration"]
DURATION_UNITS = ("DAYS", "MONTHS", "YEARS")
_CURRENCY = re.compile(r"[A-Z]{3}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class FieldDef:
    name: str
    kind: FieldKind
    label: str
    required: bool = True


@dataclass(frozen=True)
class KeyPointerDef:
    field_name: str
    label: str
    data_type: str
    value: Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class TemplateDef:
    template_id: int
    title: str
    contract_type_id: int
    fields: tuple[FieldDef, ...]
    key_pointers: tuple[KeyPointerDef, ...]
    clauses: tuple[str, ...] = ()

    def field(self, name: str) -> FieldDef | None:
        return next((f for f in self.fields if f.name == name), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.template_id, "title": self.title, "contract_type_id": self.contract_type_id,
            "fields": [{"name": f.name, "type": f.kind, "label": f.label, "required": f.required} for f in self.fields],
        }  # fmt: skip


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_date(value: Any) -> bool:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _type_ok(kind: FieldKind, value: Any) -> bool:
    if kind == "text":
        return isinstance(value, str)
    if kind == "number":
        return _number(value)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "date":
        return _is_date(value)
    if kind == "currency":
        return (isinstance(value, dict) and set(value) == {"type", "value"} and isinstance(value["type"], str)
                and bool(_CURRENCY.fullmatch(value["type"])) and _number(value["value"])
                and value["value"] >= 0)  # fmt: skip
    if kind == "duration":
        return (isinstance(value, dict) and {"type", "value"} <= set(value) <= {"type", "value", "days"}
                and value["type"] in DURATION_UNITS and isinstance(value["value"], int)
                and not isinstance(value["value"], bool) and value["value"] >= 0
                and (value.get("days") is None or (isinstance(value["days"], int) and value["days"] >= 0)))  # fmt: skip
    return False


_EXPECTED = {
    "text": "a string", "number": "a number", "boolean": "true or false", "date": "a date (YYYY-MM-DD)",
    "currency": 'a currency object {"type": "<ISO currency>", "value": <number>}',
    "duration": 'a duration object {"type": "DAYS|MONTHS|YEARS", "value": <integer>}',
}  # fmt: skip


def validate_data(template: TemplateDef, data: dict[str, Any]) -> dict[str, list[str]]:
    """Field name -> messages (never quoting a value); empty when the data fits the template."""
    problems: dict[str, list[str]] = {}
    for name in sorted(data):
        spec = template.field(name)
        if spec is None:
            problems[name] = ["This field is not defined in the template."]
        elif data[name] is None and not spec.required:
            continue
        elif not _type_ok(spec.kind, data[name]):
            problems[name] = [f"Expected {_EXPECTED[spec.kind]}."]
    for spec in template.fields:
        if spec.required and spec.name not in data:
            problems[spec.name] = ["This field is required."]
    return problems


def add_duration(start: str, duration: dict[str, Any]) -> str:
    """``start`` + ``duration`` (calendar months and years; the day is clamped to the month's length)."""
    day = date.fromisoformat(start)
    value = int(duration["value"])
    if duration["type"] == "DAYS":
        return (day + timedelta(days=value)).isoformat()
    months = value * (12 if duration["type"] == "YEARS" else 1)
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    return date(year, month + 1, min(day.day, monthrange(year, month + 1)[1])).isoformat()


def _renewal(data: dict[str, Any]) -> str | None:
    if _is_date(data.get("effective_date")) and _type_ok("duration", data.get("term")):
        return add_duration(data["effective_date"], data["term"])
    return None


def _notice(data: dict[str, Any]) -> dict[str, Any]:
    days = data.get("notice_period_days")
    return {"type": "DAYS", "value": int(days) if _number(days) else 30}


MSA = TemplateDef(
    template_id=101,
    title="Master Services Agreement",
    contract_type_id=11,
    fields=(
        FieldDef("customer_name", "text", "Customer Name"),
        FieldDef("effective_date", "date", "Effective Date"),
        FieldDef("contract_value", "currency", "Contract Value"),
        FieldDef("term", "duration", "Term"),
        FieldDef("auto_renewal", "boolean", "Auto Renewal", required=False),
        FieldDef("notice_period_days", "number", "Notice Period (days)", required=False),
    ),
    key_pointers=(
        KeyPointerDef("effective_date", "Effective Date", "date", lambda d: d.get("effective_date")),
        KeyPointerDef("contract_value", "Contract Value", "currency", lambda d: d.get("contract_value")),
        KeyPointerDef("term", "Term", "duration", lambda d: d.get("term")),
        KeyPointerDef("renewal_date", "Renewal Date", "date", _renewal),
        KeyPointerDef("auto_renewal", "Auto Renewal", "boolean", lambda d: bool(d.get("auto_renewal", False))),
        KeyPointerDef("notice_period", "Notice Period", "duration", _notice),
    ),
    clauses=(
        "1. Services. The provider performs the services described in the order forms under this agreement.",
        "2. Fees. The customer pays the contract value on the terms agreed in the order forms.",
        "3. Term. This agreement runs for the term from the effective date and renews as agreed.",
        "4. Termination. Either party may terminate at the end of a term with the agreed notice period.",
    ),
)

NDA = TemplateDef(
    template_id=102,
    title="Mutual Non-Disclosure Agreement",
    contract_type_id=12,
    fields=(
        FieldDef("effective_date", "date", "Effective Date"),
        FieldDef("term", "duration", "Term"),
        FieldDef("purpose", "text", "Purpose"),
        FieldDef("governing_law", "text", "Governing Law", required=False),
    ),
    key_pointers=(
        KeyPointerDef("effective_date", "Effective Date", "date", lambda d: d.get("effective_date")),
        KeyPointerDef("term", "Term", "duration", lambda d: d.get("term")),
        KeyPointerDef("expiry_date", "Expiry Date", "date", _renewal),
    ),
    clauses=("1. Each party keeps the other's confidential information confidential for the term.",),
)

TEMPLATES: dict[int, TemplateDef] = {t.template_id: t for t in (MSA, NDA)}

__all__ = ["FieldDef", "KeyPointerDef", "MSA", "NDA", "TEMPLATES", "TemplateDef", "add_duration", "validate_data"]
