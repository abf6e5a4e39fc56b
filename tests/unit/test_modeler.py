"""The Modeler element templates are generated from the task specs and checked in without drift."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from workers import modeler
from workers.tasks.registry import all_specs

ROOT = Path(__file__).resolve().parents[2]
CHECKED_IN = ROOT / "element-templates" / "contract-workers.json"

# A hand-written subset of the Zeebe element templates JSON schema
# (https://unpkg.com/@camunda/zeebe-element-templates-json-schema/resources/schema.json), which cannot be
# downloaded here: what the Modeler needs to load a template and the binding rules we rely on.
TEMPLATE_REQUIRED = {"$schema", "id", "name", "version", "appliesTo", "properties"}
TEMPLATE_ALLOWED = TEMPLATE_REQUIRED | {
    "description", "category", "elementType", "groups", "engines", "keywords", "icon", "documentationRef",
    "deprecated", "entriesVisible",
}  # fmt: skip
PROPERTY_TYPES = {"String", "Text", "Hidden", "Dropdown", "Boolean", "Number"}
PROPERTY_ALLOWED = {
    "id", "label", "description", "group", "type", "value", "binding", "constraints", "optional", "feel",
    "editable", "choices", "condition", "placeholder", "tooltip",
}  # fmt: skip
# binding type -> the keys it must carry
BINDING_REQUIRED = {
    "zeebe:input": {"name"},
    "zeebe:output": {"source"},
    "zeebe:taskDefinition": {"property"},
    "zeebe:taskHeader": {"key"},
    "zeebe:property": {"name"},
}
OPTIONAL_BINDINGS = {"zeebe:input", "zeebe:output", "zeebe:taskHeader", "zeebe:property"}


@pytest.fixture(scope="module")
def specs() -> list[Any]:
    return all_specs()


@pytest.fixture(scope="module")
def templates(specs) -> dict[str, dict[str, Any]]:
    return {t["id"]: t for t in modeler.element_templates(specs)}


def _template(templates: dict[str, dict[str, Any]], spec: Any) -> dict[str, Any]:
    return templates[f"io.contractworkers.{spec.type}"]


def _bound(template: dict[str, Any], binding_type: str) -> list[dict[str, Any]]:
    return [p for p in template["properties"] if p["binding"]["type"] == binding_type]


def _task_definition(template: dict[str, Any], prop: str) -> dict[str, Any]:
    [found] = [p for p in _bound(template, "zeebe:taskDefinition") if p["binding"]["property"] == prop]
    return found


def test_one_template_per_spec(specs, templates):
    assert len(templates) == len(specs) == len(modeler.element_templates(specs))
    for spec in specs:
        template = _template(templates, spec)
        assert template["name"] == spec.name
        assert template["version"] == 1
        assert template["appliesTo"] == ["bpmn:Task"]
        assert template["elementType"] == {"value": "bpmn:ServiceTask"}
        assert template["category"] == {"id": "contract-workers", "name": "Contract workers"}
        assert template["description"].startswith(spec.description)


def test_task_type_and_retries_match_the_spec(specs, templates):
    for spec in specs:
        template = _template(templates, spec)
        task_type = _task_definition(template, "type")
        assert task_type["type"] == "Hidden"
        assert task_type["value"] == spec.type
        retries = _task_definition(template, "retries")
        assert retries["type"] == "String"
        assert retries["value"] == str(spec.retries)
        assert re.fullmatch(retries["constraints"]["pattern"]["value"], retries["value"])


def test_description_documents_error_codes_and_incidents(specs, templates):
    for spec in specs:
        description = _template(templates, spec)["description"]
        for code in spec.error_codes:
            assert code in description
        if not spec.error_codes:
            assert "no BPMN errors" in description
        assert f"retried {spec.retries} times" in description
        assert "incident" in description


def test_every_input_field_is_a_zeebe_input_named_by_its_alias(specs, templates):
    for spec in specs:
        inputs = {p["binding"]["name"]: p for p in _bound(_template(templates, spec), "zeebe:input")}
        fields = spec.input_model.model_fields
        assert set(inputs) == {f.alias or name for name, f in fields.items()}, spec.type
        for name, field in fields.items():
            alias = field.alias or name
            prop = inputs[alias]
            assert prop["group"] == "input"
            assert prop["feel"] in {"required", "optional"}
            assert prop["label"] and prop["description"]
            if field.description:
                # the field's own words, without the "(=docId)" hint the generator replaces with its own
                own = re.sub(rf"\(?={alias}\)?\.?$", "", field.description).strip().rstrip(".")
                assert own in prop["description"], (spec.type, alias)
                assert f"={alias}" not in prop["description"], (spec.type, alias)
            if field.is_required():
                assert prop["constraints"]["notEmpty"] is True, (spec.type, alias)
                assert prop["value"] == f"={alias}"
                assert "optional" not in prop
            else:
                # An empty optional input creates no mapping: the worker then reads the process variable
                # if any, else the model default (a pre-filled "=alias" would hand it null instead).
                assert prop["optional"] is True, (spec.type, alias)
                assert "value" not in prop
                assert not prop.get("constraints", {}).get("notEmpty")


def test_inputs_are_the_variables_the_worker_fetches(specs, templates):
    for spec in specs:
        names = {p["binding"]["name"] for p in _bound(_template(templates, spec), "zeebe:input")}
        assert names <= set(spec.variable_names())


def test_non_string_inputs_must_be_feel(templates):
    by_id = {p["id"]: p for t in templates.values() for p in t["properties"] if p.get("id")}
    assert by_id["input.contractError"]["feel"] == "required"  # an object
    assert by_id["input.dmsMetadata"]["feel"] == "required"  # dict | None
    assert by_id["input.maxReconcileAttempts"]["feel"] == "required"  # an int
    assert by_id["input.docId"]["feel"] == "optional"  # a string may be typed literally
    assert by_id["input.confidentialityLevel"]["feel"] == "optional"  # str | None


def test_every_output_field_is_mapped_to_a_same_named_variable(specs, templates):
    for spec in specs:
        outputs = {p["binding"]["source"]: p for p in _bound(_template(templates, spec), "zeebe:output")}
        aliases = {f.alias or name for name, f in spec.output_model.model_fields.items()}
        assert set(outputs) == {f"={alias}" for alias in aliases}, spec.type
        for alias in aliases:
            prop = outputs[f"={alias}"]
            assert prop["value"] == alias
            assert prop["group"] == "output"
            assert prop["constraints"]["notEmpty"] is True
            assert "feel" not in prop  # a target is a variable name, not an expression


def test_prune_pii_outputs_overwrite_the_personal_data():
    from workers.tasks import prune_pii

    [template] = modeler.element_templates([prune_pii.SPEC])
    targets = {p["value"] for p in _bound(template, "zeebe:output")}
    assert {"contractRequest", "employee"} <= targets


def test_templates_fit_the_schema_subset(templates):
    for tid, template in templates.items():
        assert TEMPLATE_REQUIRED <= set(template), tid
        assert set(template) <= TEMPLATE_ALLOWED, tid
        assert template["$schema"] == modeler.SCHEMA_URL
        assert isinstance(template["id"], str) and template["id"].startswith("io.contractworkers.")
        assert isinstance(template["version"], int)
        assert isinstance(template["properties"], list) and template["properties"]
        group_ids = [g["id"] for g in template.get("groups", [])]
        assert len(group_ids) == len(set(group_ids)), tid
        for group in template.get("groups", []):
            assert set(group) == {"id", "label"}
        prop_ids = [p["id"] for p in template["properties"] if "id" in p]
        assert len(prop_ids) == len(set(prop_ids)), tid
        targets = [p["value"] for p in _bound(template, "zeebe:output")]
        assert len(targets) == len(set(targets)), tid
        for prop in template["properties"]:
            where = (tid, prop.get("id"))
            assert set(prop) <= PROPERTY_ALLOWED, where
            assert prop["type"] in PROPERTY_TYPES, where
            binding = prop["binding"]
            assert binding["type"] in BINDING_REQUIRED, where
            assert BINDING_REQUIRED[binding["type"]] <= set(binding), where
            if binding["type"] == "zeebe:taskDefinition":
                assert binding["property"] in {"type", "retries"}, where
            if "group" in prop:
                assert prop["group"] in group_ids, where
            if "feel" in prop:
                assert prop["feel"] in {"optional", "required"} and prop["type"] in {"String", "Text"}, where
            if prop.get("optional"):
                assert binding["type"] in OPTIONAL_BINDINGS, where
                assert not prop.get("constraints", {}).get("notEmpty"), where
            if "value" in prop:
                assert isinstance(prop["value"], str), where
            if prop["type"] == "Hidden":
                assert "value" in prop, where


def test_checked_in_templates_are_up_to_date(specs):
    fresh = modeler.render(specs)
    assert CHECKED_IN.exists(), f"{CHECKED_IN} is missing; generate it with: {modeler.REGENERATE_COMMAND}"
    current = CHECKED_IN.read_text(encoding="utf-8")
    assert current == fresh, (
        f"{CHECKED_IN.relative_to(ROOT)} is out of date with the task input/output models; "
        f"regenerate it with: {modeler.REGENERATE_COMMAND}"
    )


def test_rendered_file_format(specs):
    text = modeler.render(specs)
    assert text.endswith("}\n]\n")
    data = json.loads(text)
    assert isinstance(data, list)
    assert text == json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_main_writes_and_checks(tmp_path, capsys):
    out = tmp_path / "templates" / "contract-workers.json"
    assert modeler.main(["--output", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == modeler.render(all_specs())
    assert modeler.main(["--output", str(out), "--check"]) == 0

    out.write_text("[]\n", encoding="utf-8")
    assert modeler.main(["--output", str(out), "--check"]) == 1
    assert modeler.REGENERATE_COMMAND in capsys.readouterr().err


def test_main_prints_to_stdout_without_output(capsys):
    assert modeler.main([]) == 0
    assert capsys.readouterr().out == modeler.render(all_specs())
