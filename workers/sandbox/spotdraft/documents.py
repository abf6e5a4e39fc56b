"""Contract documents of the SpotDraft sandbox: the rendered PDF of each version (``workers.sandbox.pdf``) and
short-lived signed storage URLs, as ``download_link`` hands them out.

Published: ``download_link`` answers ``{url, file_name, current_version_id}``, the URL a temporary one on
cloud storage (the example is a signed ``storage.googleapis.com`` URL). Our storage stand-in serves
``/_storage/contracts/{contract_id}/v{version}.pdf?expires=<unix>&signature=<hex>`` on the sandbox's own
port, without credentials; an expired link answers 400 ``ExpiredToken`` and a bad signature 403
``SignatureDoesNotMatch`` (XML, as Google Cloud Storage does). The path carries ids only, never a name.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from datetime import datetime, timezone
from typing import Any

from workers.sandbox.pdf import render_pdf
from workers.sandbox.spotdraft.state import SdContract
from workers.sandbox.spotdraft.templates import TemplateDef
from workers.sandbox.templates import FieldSpec, TemplateSpec

STORAGE_ROUTE = "/_storage/contracts/{contract_id:int}/v{version:int}.pdf"


def _display(value: Any) -> str:
    if isinstance(value, dict) and {"type", "value"} <= set(value):
        return f"{value['value']} {value['type']}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "-" if value is None else str(value)


class Documents:
    """Signs storage URLs with a per-process key and renders (and caches) each contract version's PDF."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._cache: dict[tuple[int, int], bytes] = {}

    def clear(self) -> None:
        self._cache.clear()

    def _signature(self, contract_id: int, version: int, expires: int) -> str:
        return hmac.new(self._key, f"{contract_id}:{version}:{expires}".encode(), hashlib.sha256).hexdigest()

    def link(self, base_url: str, contract: SdContract, now: float, ttl_s: float) -> str:
        expires = int(math.ceil(now + ttl_s))
        signature = self._signature(contract.contract_id, contract.version, expires)
        path = f"_storage/contracts/{contract.contract_id}/v{contract.version}.pdf"
        return f"{base_url.rstrip('/')}/{path}?expires={expires}&signature={signature}"

    def check(self, contract_id: int, version: int, expires: str | None, signature: str | None,
              now: float) -> str | None:  # fmt: skip
        """None when the link is good, else the storage error code."""
        if not expires or not signature or not expires.isdigit():
            return "SignatureDoesNotMatch"
        expected = self._signature(contract_id, version, int(expires))
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            return "SignatureDoesNotMatch"
        if now > int(expires):
            return "ExpiredToken"
        return None

    def pdf(self, contract: SdContract, template: TemplateDef, version: int) -> bytes:
        cached = self._cache.get((contract.contract_id, version))
        if cached is None:
            cached = self._render(contract, template, version)
            self._cache[(contract.contract_id, version)] = cached
        return cached

    @staticmethod
    def _render(contract: SdContract, template: TemplateDef, version: int) -> bytes:
        executed = version > 1
        spec = TemplateSpec(
            template_id=str(template.template_id),
            version=str(version),
            title=template.title + (" (executed)" if executed else " (draft)"),
            fields=tuple(FieldSpec(f.name, "string", f.required, f.label) for f in template.fields),
            clauses=template.clauses
            + ((f"Executed: signed by the counterparty ({contract.counter_party_name}) through SpotDraft.",)
               if executed else ()),
        )  # fmt: skip
        data = {name: _display(value) for name, value in contract.data.items()}
        metadata = {"request_id": contract.composite_id, "initiated_by": "SpotDraft sandbox"}
        return render_pdf(spec, data, doc_id=contract.composite_id, metadata=metadata,
                          created_at=datetime.now(timezone.utc))  # fmt: skip


_STORAGE_ERRORS = {
    "ExpiredToken": (400, "Invalid argument."),
    "SignatureDoesNotMatch": (403, "The request signature does not match."),
    "NoSuchKey": (404, "The specified key does not exist."),
}


def storage_error(code: str) -> tuple[int, bytes]:
    status, message = _STORAGE_ERRORS[code]
    body = f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
    return status, body.encode()


__all__ = ["Documents", "STORAGE_ROUTE", "storage_error"]
