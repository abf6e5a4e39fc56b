"""The shipped artifacts, checked by Camunda's own tools (versions pinned in
``tools/camunda/package-lock.json``; ``make test`` / ``make test-unit`` install them with ``npm ci``):

* every diagram passes bpmnlint's recommended rules plus ``bpmnlint-plugin-camunda-compat`` for Camunda
  8.6, parsed with ``zeebe-bpmn-moddle``; warnings count as failures (a modeler sees what this sees);
* the element templates validate against the official ``@camunda/zeebe-element-templates-json-schema``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "camunda"
BPMNLINT = TOOL / "node_modules" / ".bin" / "bpmnlint"
TEMPLATE_SCHEMA = TOOL / "node_modules" / "@camunda" / "zeebe-element-templates-json-schema" / "resources" / "schema.json"
NOT_INSTALLED = "Camunda's tools are not installed: run `make test-unit` (npm ci in tools/camunda)"


def test_every_diagram_passes_camundas_linter_without_a_warning() -> None:
    if shutil.which("node") is None:
        pytest.skip("no Node.js on this machine: bpmnlint cannot run (CI has it)")
    assert BPMNLINT.exists(), NOT_INSTALLED
    diagrams = sorted(str(p) for p in (ROOT / "bpmn").glob("*.bpmn"))
    assert len(diagrams) >= 3
    result = subprocess.run([str(BPMNLINT), *diagrams], cwd=TOOL, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_the_element_templates_validate_against_camundas_schema() -> None:
    if shutil.which("node") is None:
        pytest.skip("no Node.js on this machine: the schema comes from npm (CI has it)")
    assert TEMPLATE_SCHEMA.exists(), NOT_INSTALLED
    schema = json.loads(TEMPLATE_SCHEMA.read_text())
    templates = json.loads((ROOT / "element-templates" / "contract-workers.json").read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    problems = [f"{list(e.path)[:3]}: {e.message[:160]}" for e in validator.iter_errors(templates)]
    assert problems == [], problems[:10]
    assert all(t["engines"] == {"camunda": "^8.6"} for t in templates)
