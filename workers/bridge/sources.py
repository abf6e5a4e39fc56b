"""Webhook sources: what one sender's authenticated delivery becomes in Zeebe.

A source pairs the sender's signature scheme (``verifier``) with ``translate``: the raw, already
authenticated body → ``Publish`` (a Zeebe message), ``Ignore`` (an event type we do not act on: 202, so
the sender does not retry it) or ``BadEvent`` (400, nothing published). The bridge app does the rest
(authentication, Zeebe's answers, logs, metrics) the same way for every source.

* ``ContractizeSource`` — the contract provider: ``document.ready`` / ``document.failed`` become
  ``contract-ready`` / ``contract-failed``, correlated by ``doc_id``, message id = the signed event id.
* ``BambooHrSource`` — the HR system: a hire (``employee.created``, or ``employee.updated`` touching a
  field onboarding depends on) becomes ``employee-hired``, which *starts* ``employee-nda`` (message start
  event), correlation key = employee id, message id = the event's id. Published with TTL 0 on purpose:
  Zeebe then starts nothing while an instance for that employee is active (a re-sent or second event is
  dropped) and keeps nothing buffered that would start a second onboarding once the first ends. What
  stops a second NDA for good is ``contract.generate``'s look-up by external id at the provider.

Nothing from a body but ids, a status and an event type travels to Zeebe.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from workers.bridge.events import MalformedEvent, message_name, message_variables, parse_envelope, parse_event
from workers.signing import WebhookVerifier

__all__ = [
    "BadEvent",
    "BambooHrSource",
    "ContractizeSource",
    "HIRE_MESSAGE",
    "Ignore",
    "Publish",
    "Verifier",
    "WebhookSource",
    "as_source",
]

HIRE_MESSAGE = "employee-hired"


@dataclass(frozen=True)
class Publish:
    name: str
    correlation_key: str
    message_id: str
    variables: dict[str, str]
    # None: the bridge's BRIDGE_MESSAGE_TTL_S.
    ttl_ms: int | None = None
    # Safe, clipped facts for the delivery's log line (ids and types only).
    log: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Ignore:
    event_type: str
    event_id: str = ""


@dataclass
class BadEvent(Exception):
    """400: the body is not an event we can use; ``detail`` names fields, never values."""

    error: str
    detail: str
    event_type: str | None = None


@runtime_checkable
class Verifier(Protocol):
    @property
    def key_count(self) -> int: ...

    def verify(self, body: bytes, headers: Any, tolerance_s: float) -> Any:
        """Raise ``workers.signing.SignatureError`` unless signed by one of our keys (returns the signed
        event id when the scheme signs one, else ``None``)."""


@runtime_checkable
class WebhookSource(Protocol):
    verifier: Verifier

    def translate(self, body: bytes, signed_event_id: str | None) -> Publish | Ignore: ...


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise BadEvent("malformed_event", "body is not valid JSON") from None


class ContractizeSource:
    """The contract provider's document events (Standard Webhooks signatures)."""

    def __init__(self, verifier: WebhookVerifier) -> None:
        self.verifier = verifier

    def translate(self, body: bytes, signed_event_id: str | None) -> Publish | Ignore:
        payload = _json(body)
        try:
            envelope = parse_envelope(payload)
        except MalformedEvent as exc:
            raise BadEvent("malformed_event", str(exc)) from None
        if envelope.event_id != signed_event_id:
            raise BadEvent("event_id_mismatch", "event_id does not match the signed webhook-id header",
                           envelope.event_type)  # fmt: skip
        name = message_name(envelope.event_type)
        if name is None:
            return Ignore(envelope.event_type, envelope.event_id)
        try:
            event = parse_event(payload)
        except MalformedEvent as exc:
            raise BadEvent("malformed_event", str(exc), envelope.event_type) from None
        return Publish(
            name=name,
            correlation_key=event.doc_id,
            message_id=event.event_id,
            variables=message_variables(event),
            log={"event_type": event.event_type, "event_id": event.event_id, "doc_id": event.doc_id},
        )


class BambooHrSource:
    """BambooHR's event-based employee webhooks (``X-BambooHR-Signature``), see ``workers.hr.signing``."""

    def __init__(self, verifier: Verifier, *, company_id: str | None, start_on_update_fields: list[str]) -> None:
        self.verifier = verifier
        self._company_id = company_id
        self._start_fields = frozenset(start_on_update_fields)

    def translate(self, body: bytes, signed_event_id: str | None) -> Publish | Ignore:
        from workers.hr.signing import MalformedHrEvent, parse_event as parse_hr_event

        try:
            event = parse_hr_event(body)
        except MalformedHrEvent as exc:
            raise BadEvent("malformed_event", str(exc)) from None
        eid = event.event_id
        if self._company_id is not None and event.company_id != self._company_id:
            raise BadEvent("unknown_company", "data.companyId is not the company this bridge serves", event.type)
        if not self._starts_onboarding(event.type, event.changed_fields):
            return Ignore(event.type, eid)
        return Publish(
            name=HIRE_MESSAGE,
            correlation_key=event.employee_id,
            message_id=eid,
            variables={"employeeId": event.employee_id, "hrEventId": eid, "hrEventType": event.type},
            ttl_ms=0,
            log={"event_type": event.type, "event_id": eid, "employee_id": event.employee_id},
        )

    def _starts_onboarding(self, event_type: str, changed: list[str]) -> bool:
        if event_type == "employee.created":
            return True
        return event_type == "employee.updated" and bool(self._start_fields.intersection(changed))


def as_source(value: WebhookSource | WebhookVerifier) -> WebhookSource:
    """A bare ``WebhookVerifier`` (what tests and older callers pass) is the contract provider's source."""
    if isinstance(value, WebhookVerifier):
        return ContractizeSource(value)
    if isinstance(value, WebhookSource):
        return value
    raise TypeError("expected a WebhookVerifier or a webhook source (see workers.bridge.auth.build_verifiers)")
