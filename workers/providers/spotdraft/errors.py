"""SpotDraft-specific errors (subclasses of ``providers.base``'s, so existing call sites keep working) and
reading SpotDraft's error bodies for field names.

Published: errors carry ``{detail, status_code, code, message}`` "or field-level validation errors"; 402 means
"request failed due to business-rule or workflow state". The shape of field-level errors is not published:
we read the body's STRUCTURE as Django REST framework writes it (``{"contract_data": {"term": ["..."]}}``,
lists of per-item objects for arrays) and keep identifier-like key paths only. Messages, ``detail`` and
every other value are never kept: they can quote what was sent (a person's name).
"""

from __future__ import annotations

import re
from typing import Any

from workers.providers.answers import field_names, safe_text
from workers.providers.base import ProviderError, ProviderRejected

_ENVELOPE = frozenset({"detail", "status_code", "code", "message"})
_TRANSPARENT = frozenset({"errors", "field_errors"})  # containers some APIs wrap field errors in
_NOT_A_FIELD = frozenset({"non_field_errors"})
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]{0,62}")
_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]{0,63}")
MAX_DEPTH = 6
MAX_NAMES = 25


class TemplateNotFound(ProviderRejected):
    """The workspace has no such contract template (404 on create, or a 400 naming only the template id)."""

    CODE = "TEMPLATE_NOT_FOUND"
    code = CODE

    def __init__(self, message: str) -> None:
        super().__init__(message, fields=["contract_template_id"])


class ContractStateInvalid(ProviderError):
    """402: the contract's workflow state does not allow this action (sending an executed contract, voiding
    an executed one). A retry cannot help until the contract changes; the process decides."""

    CODE = "CONTRACT_STATE_INVALID"
    code = CODE

    def __init__(self, message: str, api_code: str | None = None) -> None:
        super().__init__(message)
        self.api_code = api_code


def error_code(body: Any) -> str | None:
    """The body's ``code`` when it looks like a code (a closed vocabulary), else None."""
    code = body.get("code") if isinstance(body, dict) else None
    return safe_text(code, 64) if isinstance(code, str) and _CODE.fullmatch(code) else None


def error_fields(body: Any) -> tuple[list[str], int]:
    """Dotted/indexed key paths of the field-level errors in ``body`` (``contract_data.term``,
    ``counter_party_details[0].poc_details.email``) and how many entries had no usable name."""
    names: list[str] = []
    unnamed = 0

    def walk(value: Any, path: str, depth: int) -> None:
        nonlocal unnamed
        if len(names) >= MAX_NAMES or depth > MAX_DEPTH:
            return
        if isinstance(value, dict) and value:
            for key, sub in value.items():
                if depth == 0 and key in _ENVELOPE:
                    continue
                if depth == 0 and key in _TRANSPARENT:
                    walk(sub, path, depth)
                    continue
                if not isinstance(key, str) or key in _NOT_A_FIELD or not _KEY.fullmatch(key):
                    unnamed += 1
                    continue
                walk(sub, f"{path}.{key}" if path else key, depth + 1)
        elif isinstance(value, list) and value and all(isinstance(v, (dict, list)) for v in value):
            for index, sub in enumerate(value[:100]):
                if sub:  # DRF leaves {} for the valid items of an array
                    walk(sub, f"{path}[{index}]", depth + 1)
        elif path:
            if path not in names:
                names.append(path)
        elif value not in (None, "", [], {}):
            unnamed += 1

    walk(body if isinstance(body, dict) else {}, "", 0)
    return field_names(names), unnamed


__all__ = ["ContractStateInvalid", "TemplateNotFound", "error_code", "error_fields"]
