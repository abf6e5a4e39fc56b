"""What the workers need from a CRM for the deal flow, independent of any one vendor's API.

Adapters (``hubspot.py``) implement ``CrmSystem``; tasks only see this module. ``Deal.properties`` and
``CrmObject.properties`` use the CRM's own property names (HubSpot's internal names: ``dealname``,
``amount``, ``email``...), every name asked for is present (``None`` when the CRM has no value). Deal,
contact and company properties are personal or business data: the ``repr`` of these records names the
properties that have a value, never a value, and no error message below ever contains one.

Errors are mapped by the adapter onto the classes below so a task can decide BPMN error vs. retry without
knowing HTTP; their messages are built from status codes, paths without query strings, our own ids,
property names and HubSpot's closed vocabularies (error category, correlation id), never from a body value.

Ids (deal, contact, company) are checked against ``OBJECT_ID`` before any request: an id that does not fit
is reported as ``DealNotFound`` without calling out, and it is not repeated in the message (it may be
anything, e.g. a deal name typed into the wrong field).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from workers.errors import SafeMessage

OBJECT_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def _present(properties: dict[str, str | None]) -> str:
    return ",".join(k for k, v in properties.items() if v is not None) or "(none)"


@dataclass(frozen=True)
class Deal:
    """A deal with the properties asked for and the ids of its associated contacts and companies
    (deduplicated, in the CRM's order)."""

    deal_id: str
    properties: dict[str, str | None] = field(default_factory=dict)
    contact_ids: list[str] = field(default_factory=list)
    company_ids: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return (
            f"Deal(deal_id={self.deal_id!r}, properties with a value: {_present(self.properties)}, "
            f"contact_ids={self.contact_ids!r}, company_ids={self.company_ids!r})"
        )

    def missing(self, *names: str) -> list[str]:
        """The given property names that have no value (``None`` or blank), in the given order."""
        return [n for n in names if _blank(self.properties.get(n))]


@dataclass(frozen=True)
class CrmObject:
    """A contact or a company with the properties asked for."""

    object_id: str
    properties: dict[str, str | None] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"CrmObject(object_id={self.object_id!r}, properties with a value: {_present(self.properties)})"

    def missing(self, *names: str) -> list[str]:
        return [n for n in names if _blank(self.properties.get(n))]


class CrmError(SafeMessage, Exception):
    """Base class; ``str(error)`` is operator-readable and free of secrets, personal and business data and
    body contents, so logs (and Operate) may show it."""


class CrmUnavailable(CrmError):
    """5xx, timeout, connection refused, an unreadable answer: retry with back-off."""


class CrmRateLimited(CrmError):
    """429: wait ``retry_after`` seconds (0-300); says nothing about the job itself."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class CrmAuthError(CrmError):
    """401/403: the access token is wrong, revoked or lacks a scope; needs an operator."""


class DealNotFound(CrmError):
    """404 on the deal (or on one of its contacts or companies: the message names the object type and id),
    or an id that cannot be one (refused before any request)."""


class CrmRejected(CrmError):
    """400 on an update (or a request we refuse to send): a retry cannot help. ``properties`` holds property
    names only (identifier-like)."""

    def __init__(self, message: str, properties: list[str] | None = None) -> None:
        super().__init__(message)
        self.properties = list(properties or [])


def valid_object_id(object_id: object) -> bool:
    return isinstance(object_id, str) and OBJECT_ID.fullmatch(object_id) is not None


def check_object_id(object_id: object, object_type: str = "deal", system: str = "CRM") -> str:
    """``object_id`` when it fits ``OBJECT_ID``; else ``DealNotFound`` (the id is not repeated)."""
    if not valid_object_id(object_id):
        raise DealNotFound(
            f"{system}: the {object_type} id is not a valid id (1-64 letters, digits, '_' or '-'); "
            "no request was sent"
        )
    return object_id  # type: ignore[return-value]


@runtime_checkable
class CrmSystem(Protocol):
    name: str

    async def get_deal(self, deal_id: str, properties: list[str]) -> Deal:
        """The deal with these properties and its associated contact and company ids; ``DealNotFound``
        when there is none."""

    async def get_contact(self, contact_id: str, properties: list[str]) -> CrmObject:
        """``DealNotFound`` (naming the contact) when there is none."""

    async def get_company(self, company_id: str, properties: list[str]) -> CrmObject:
        """``DealNotFound`` (naming the company) when there is none."""

    async def update_deal(self, deal_id: str, properties: dict[str, str]) -> None:
        """Set deal properties (the sync back); idempotent: it sets values."""

    async def aclose(self) -> None: ...


__all__ = [
    "OBJECT_ID",
    "CrmAuthError",
    "CrmError",
    "CrmObject",
    "CrmRateLimited",
    "CrmRejected",
    "CrmSystem",
    "CrmUnavailable",
    "Deal",
    "DealNotFound",
    "check_object_id",
    "valid_object_id",
]
