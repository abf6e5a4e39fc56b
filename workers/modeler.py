"""Camunda 8 Modeler element templates, generated from the task specs.

One source of truth: the template a modeler fills in is derived from the same pydantic input model the
worker validates the job's variables with, so a field added, renamed or made optional in a task module
shows up in the Modeler as soon as the templates are regenerated (``tests/unit/test_modeler.py`` fails
while the checked-in ``element-templates/contract-workers.json`` lags behind)::

    python -m workers.modeler --output element-templates/contract-workers.json

Per spec, one template for ``bpmn:ServiceTask``:

* the task type (hidden) and the job retries (editable, ``spec.retries`` by default);
* one ``zeebe:input`` per input-model field, named by its camelCase alias. A required field defaults to
  the same-named process variable (``=docId``) and must not be emptied. An optional field is left empty
  and its mapping is then *not created* (``optional: true``): the worker reads the process variable if
  one exists and otherwise uses the model's default. Pre-filling ``=reconcileAttempts`` instead would
  hand the worker ``null`` whenever the variable is missing, which fails validation for ``int``/``str``
  fields and replaces the default (e.g. ``confidentialityLevel``) with ``None`` for nullable ones;
* one ``zeebe:output`` per output-model field, source ``=<alias>``, target editable (defaults to the same
  name). Every field gets one: once a task has any output mapping (and input mappings that create
  same-named local variables make them necessary) only mapped variables reach the process, and some
  outputs exist precisely to overwrite process variables (``contract.prune-pii`` nulls
  ``contractRequest`` and reduces ``employee`` to its id).

BPMN error codes (``spec.error_codes``) cannot be bound by a template for a plain job worker; the template
description lists them so the modeler knows which error boundary events to attach.
"""

from __future__ import annotations

import argparse
import json
import sys
import typing
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import UnionType
from typing import Any, Union

from pydantic import BaseModel
from pydantic.fields import FieldInfo

SCHEMA_URL = "https://unpkg.com/@camunda/zeebe-element-templates-json-schema/resources/schema.json"
ID_PREFIX = "io.contractworkers."
TEMPLATE_VERSION = 1
CATEGORY = {"id": "contract-workers", "name": "Contract workers"}
DEFAULT_OUTPUT = Path("element-templates/contract-workers.json")
REGENERATE_COMMAND = "python -m workers.modeler --output element-templates/contract-workers.json"

GROUPS = {
    "input": "Input",
    "output": "Output",
    "retries": "Retries and errors",
}

# Words that read better upper-cased in a label ("doc_id" -> "Doc ID").
_ACRONYMS = {"id": "ID", "dms": "DMS", "pii": "PII", "url": "URL", "pdf": "PDF", "sha256": "SHA-256"}


def element_templates(specs: Iterable[Any]) -> list[dict[str, Any]]:
    """One Camunda 8 element template per ``TaskSpec``, in the order given."""
    return [_template(spec) for spec in specs]


def render(specs: Iterable[Any]) -> str:
    """The templates as the checked-in file holds them: JSON array, sorted keys, indent 2, final newline."""
    return json.dumps(element_templates(specs), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def template_id(task_type: str) -> str:
    return ID_PREFIX + task_type


def _template(spec: Any) -> dict[str, Any]:
    properties: list[dict[str, Any]] = [
        {
            "id": "taskType",
            "type": "Hidden",
            "value": spec.type,
            "binding": {"type": "zeebe:taskDefinition", "property": "type"},
        }
    ]
    properties += [_input_property(name, f) for name, f in _fields(spec.input_model)]
    properties += [_output_property(name, f) for name, f in _fields(spec.output_model)]
    properties.append(_retries_property(spec))

    used = {p["group"] for p in properties if "group" in p}
    return {
        "$schema": SCHEMA_URL,
        "id": template_id(spec.type),
        "name": spec.name,
        "version": TEMPLATE_VERSION,
        "description": _description(spec),
        "category": dict(CATEGORY),
        "engines": {"camunda": "^8.6"},
        "appliesTo": ["bpmn:Task"],
        "elementType": {"value": "bpmn:ServiceTask"},
        "groups": [{"id": gid, "label": label} for gid, label in GROUPS.items() if gid in used],
        "properties": properties,
    }


def _fields(model: type[BaseModel]) -> list[tuple[str, FieldInfo]]:
    return list(model.model_fields.items())


def _alias(name: str, field: FieldInfo) -> str:
    return field.alias or name


def _label(name: str) -> str:
    words = [_ACRONYMS.get(w, w) for w in name.split("_") if w]
    if not words:
        return name
    first = words[0]
    return " ".join([first[:1].upper() + first[1:], *words[1:]])


def _is_string(field: FieldInfo) -> bool:
    """``str`` or ``str | None``: a value the modeler may type as plain text."""
    args = typing.get_args(field.annotation) if typing.get_origin(field.annotation) in (Union, UnionType) else ()
    kinds = set(args) - {type(None)} if args else {field.annotation}
    return kinds == {str}


def _default_text(field: FieldInfo) -> str:
    default = field.get_default(call_default_factory=True)
    return json.dumps(default, default=str, ensure_ascii=False)


def _input_property(name: str, field: FieldInfo) -> dict[str, Any]:
    alias = _alias(name, field)
    prop: dict[str, Any] = {
        "id": f"input.{alias}",
        "label": _label(name),
        "group": "input",
        "type": "String",
        # A string may be typed literally; anything else (objects, numbers) must be a FEEL expression.
        "feel": "optional" if _is_string(field) else "required",
        "binding": {"type": "zeebe:input", "name": alias},
    }
    description = _own_description(field, alias)
    if field.is_required():
        prop["value"] = f"={alias}"
        prop["constraints"] = {"notEmpty": True}
        hint = f"Required; defaults to the process variable {alias}."
    else:
        prop["optional"] = True
        hint = (
            f"Optional: leave empty to use the process variable {alias} if it exists, "
            f"else {_default_text(field)}."
        )
    prop["description"] = f"{description} {hint}" if description else hint
    return prop


def _own_description(field: FieldInfo, alias: str) -> str:
    """The field's description without the "(=docId)" default hint some models carry (we add our own)."""
    text = (field.description or "").strip().removesuffix(".")
    for hint in (f"(={alias})", f"={alias}"):
        if text.endswith(hint):
            text = text[: -len(hint)].rstrip()
            break
    if text.endswith("."):
        return text
    return f"{text}." if text else ""


def _output_property(name: str, field: FieldInfo) -> dict[str, Any]:
    alias = _alias(name, field)
    description = _own_description(field, alias)
    hint = f"Process variable that receives the task's {alias} result."
    return {
        "id": f"output.{alias}",
        "label": f"{_label(name)} (result variable)",
        "description": f"{description} {hint}" if description else hint,
        "group": "output",
        "type": "String",
        "value": alias,
        "constraints": {"notEmpty": True},
        "binding": {"type": "zeebe:output", "source": f"={alias}"},
    }


def _retries_property(spec: Any) -> dict[str, Any]:
    return {
        "id": "retries",
        "label": "Retries",
        "description": (
            f"How often a technical failure is retried (with back-off) before the job becomes an incident. "
            f"Default {spec.retries}. {_errors_sentence(spec)}"
        ),
        "group": "retries",
        "type": "String",
        "value": str(spec.retries),
        "constraints": {
            "notEmpty": True,
            "pattern": {"value": "^([0-9]+|=.+)$", "message": "A whole number or a FEEL expression."},
        },
        "binding": {"type": "zeebe:taskDefinition", "property": "retries"},
    }


def _errors_sentence(spec: Any) -> str:
    codes = tuple(spec.error_codes)
    if not codes:
        return "Throws no BPMN errors."
    listed = ", ".join(codes)
    return (
        f"Throws BPMN error{'s' if len(codes) > 1 else ''} {listed}: catch with an error boundary event; "
        f"the error's variable contractError carries code, message, fields and elementId."
    )


def _description(spec: Any) -> str:
    return (
        f"{spec.description.strip()} Task type {spec.type}. {_errors_sentence(spec)} "
        f"Technical failures are retried {spec.retries} times with back-off, then become incidents."
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="contract-workers element-templates",
        description="Write the Camunda Modeler element templates generated from the task input/output models.",
    )
    parser.add_argument("--output", "-o", type=Path, default=None,
                        help=f"file to write (e.g. {DEFAULT_OUTPUT}); standard output when omitted")  # fmt: skip
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if --output differs from freshly generated templates")  # fmt: skip
    args = parser.parse_args(argv)

    from workers.tasks.registry import all_specs  # lazy: the task modules import every adapter

    text = render(all_specs())
    if args.check:
        if args.output is None:
            parser.error("--check needs --output")
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else None
        if current != text:
            print(f"{args.output} is out of date; regenerate with: {REGENERATE_COMMAND}", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    if args.output is None:
        sys.stdout.write(text)
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {len(json.loads(text))} element templates to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
