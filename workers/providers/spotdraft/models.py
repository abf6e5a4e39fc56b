"""What the SpotDraft adapter takes and gives, as frozen dataclasses (vendor shapes stay in ``adapter.py``).

Published (SpotDraft Public API v2.1): a template contract has a composite id (``T-1234``; ``H-`` for
historical contracts) used by every ``/contracts/{composite_id}/...`` path, and an integer id (the
``contract_id`` of the create answer and of webhooks). Statuses are ``DRAFT``, ``REDLINING``, ``SIGN``,
``EXECUTED``, ``ON_HOLD`` and ``VOIDED`` (``ContractDisplayStatusEnum``).

``repr`` of the request types names which fields are present, never their values: a counterparty is a
person, and ``contract_data`` may hold a name or a price, so neither may surface in a traceback or log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

STATUSES = ("DRAFT", "REDLINING", "SIGN", "EXECUTED", "ON_HOLD", "VOIDED")
Status = Literal["DRAFT", "REDLINING", "SIGN", "EXECUTED", "ON_HOLD", "VOIDED"]
# Published pattern ^[HT\-0-9]+$, "of the form T-123 or H-123".
COMPOSITE_ID = re.compile(r"[HT]-[0-9]{1,18}")
# Our external ids (CRM deal ids) travel in a URL path: a conservative alphabet, checked before sending.
EXTERNAL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")


@dataclass(frozen=True)
class Contract:
    composite_id: str
    contract_id: int
    status: str
    link: str
    name: str


@dataclass(frozen=True)
class ContractStatus:
    """``GET contracts/{composite_id}/status``: ``{contract_status, contract_name}``."""

    composite_id: str
    status: str
    name: str

    @property
    def executed(self) -> bool:
        return self.status == "EXECUTED"


@dataclass(frozen=True)
class KeyPointer:
    """One contract metadata value (``GET contracts/{composite_id}/key_pointers``)."""

    field_name: str
    label: str
    value: Any
    data_type: str

    def __repr__(self) -> str:
        return f"KeyPointer(field_name={self.field_name!r}, data_type={self.data_type!r}, value=...)"


@dataclass(frozen=True)
class Counterparty:
    is_individual: bool
    first_name: str
    last_name: str
    email: str
    organization_name: str | None = None

    def __repr__(self) -> str:
        kind = "individual" if self.is_individual else "organization"
        org = ", organization_name" if self.organization_name else ""
        return f"Counterparty({kind}; first_name, last_name, email{org})"

    def to_json(self) -> dict[str, Any]:
        """``ExternalCounterPartyDetailsSerializerV2_1``; ``organization_name`` only for organizations."""
        body: dict[str, Any] = {
            "is_individual": self.is_individual,
            "poc_details": {"first_name": self.first_name, "last_name": self.last_name, "email": self.email},
        }
        if not self.is_individual:
            body["organization_name"] = self.organization_name or ""
        return body


@dataclass(frozen=True)
class CreateContract:
    template_id: int
    contract_data: dict[str, Any]
    counterparties: list[Counterparty]
    # Our record's id (the CRM deal id): external_metadata.id, the key of the idempotent look-up.
    external_id: str
    contract_name: str | None = None

    def __repr__(self) -> str:
        fields = ",".join(sorted(self.contract_data))
        return (
            f"CreateContract(template_id={self.template_id}, external_id={self.external_id!r}, "
            f"contract_data fields: {fields or '(none)'}, counterparties: {len(self.counterparties)})"
        )


def valid_composite_id(value: object) -> bool:
    return isinstance(value, str) and COMPOSITE_ID.fullmatch(value) is not None


def valid_external_id(value: object) -> bool:
    return isinstance(value, str) and EXTERNAL_ID.fullmatch(value) is not None


__all__ = [
    "COMPOSITE_ID",
    "Contract",
    "ContractStatus",
    "Counterparty",
    "CreateContract",
    "EXTERNAL_ID",
    "KeyPointer",
    "STATUSES",
    "Status",
    "valid_composite_id",
    "valid_external_id",
]
