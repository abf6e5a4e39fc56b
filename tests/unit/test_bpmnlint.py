"""Every shipped diagram passes Camunda's own linter: bpmnlint's recommended rules plus
``bpmnlint-plugin-camunda-compat`` for Camunda 8.6, parsed with ``zeebe-bpmn-moddle`` (versions pinned in
``tools/bpmnlint/package-lock.json``; ``make install`` installs them with ``npm ci``). Warnings count as
failures: a modeler opening our diagrams sees what this sees."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "bpmnlint"
BPMNLINT = TOOL / "node_modules" / ".bin" / "bpmnlint"


def test_every_diagram_passes_camundas_linter_without_a_warning() -> None:
    if shutil.which("node") is None:
        pytest.skip("no Node.js on this machine: bpmnlint cannot run (CI has it)")
    assert BPMNLINT.exists(), "bpmnlint is not installed: run `make install` (npm ci in tools/bpmnlint)"
    diagrams = sorted(str(p) for p in (ROOT / "bpmn").glob("*.bpmn"))
    assert len(diagrams) >= 3
    result = subprocess.run([str(BPMNLINT), *diagrams], cwd=TOOL, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr
