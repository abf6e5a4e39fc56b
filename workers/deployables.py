"""What ``bpmn/`` ships to the engine: the diagrams and the Camunda forms their user tasks link to.

A linked form (``zeebe:formDefinition formId=…``) must be deployed with (or before) its diagram, so every
deployment of ``bpmn/`` (CLI, dev runner, tests) takes both kinds of file from here.
"""

from __future__ import annotations

from pathlib import Path

from workers.config import PROJECT_ROOT

BPMN_DIR = PROJECT_ROOT / "bpmn"
SUFFIXES = (".bpmn", ".form")


def deployables(directory: Path = BPMN_DIR) -> list[Path]:
    """Every diagram and form under ``directory``, sorted (forms and diagrams deploy in one request)."""
    return sorted(p for p in directory.iterdir() if p.suffix in SUFFIXES)
