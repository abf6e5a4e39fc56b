"""The provider's webhook event, and what the bridge makes of it in Zeebe.

A delivery body looks like (seed 000, "Webhook-Driven Orchestration")::

    {"event_id": "evt_...", "event_type": "document.ready", "doc_id": "doc_...", "status": "ready",
     "template_id": "nda-001", "metadata": {...}, "occurred_at": "2025-01-01T12:00:00Z",
     "download_url": "https://..."}

Only ``event_type`` decides the Zeebe message; only ``doc_id`` (correlation key), ``event_id`` (message id
and a variable) and ``status`` travel to Zeebe. The metadata and any URL never do: metadata may carry
personal data, and a download URL is a capability.

Parsing is in two steps so that event types the provider adds later (possibly with another shape) are
acknowledged without being rejected as malformed: ``EventEnvelope`` (id + type) first, then the full
``WebhookEvent`` only for the types we map.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "MESSAGE_NAMES",
    "EventEnvelope",
    "MalformedEvent",
    "WebhookEvent",
    "describe_validation_error",
    "message_name",
    "message_variables",
    "parse_envelope",
    "parse_event",
]

# event_type -> Zeebe message name (the BPMN message catch events use these names, doc_id as key).
MESSAGE_NAMES: dict[str, str] = {
    "document.ready": "contract-ready",
    "document.failed": "contract-failed",
}

_ID_MAX = 256


class MalformedEvent(ValueError):
    """The body is not an event we can use. ``str()`` names the field, never a value from the body."""


class EventEnvelope(BaseModel):
    """What every event, known or not, must carry."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: str = Field(min_length=1, max_length=_ID_MAX)
    event_type: str = Field(min_length=1, max_length=_ID_MAX)


class WebhookEvent(EventEnvelope):
    """A document event: ``document.ready`` / ``document.failed`` (more may come)."""

    doc_id: str = Field(min_length=1, max_length=_ID_MAX)
    status: str = Field(min_length=1, max_length=64)
    template_id: str = Field(min_length=1, max_length=_ID_MAX)
    metadata: dict[str, Any] = Field(default_factory=dict)
    occurred_at: datetime


def describe_validation_error(error: ValidationError) -> str:
    """``"doc_id: missing"`` style: names the fields and the kind of problem, echoes no input."""
    parts = []
    for err in error.errors(include_input=False, include_url=False, include_context=False):
        loc = ".".join(str(p) for p in err.get("loc", ())) or "body"
        parts.append(f"{loc}: {err.get('type', 'invalid')}")
    return "; ".join(parts[:5]) or "invalid event"


def parse_envelope(payload: Any) -> EventEnvelope:
    if not isinstance(payload, dict):
        raise MalformedEvent("body must be a JSON object")
    try:
        return EventEnvelope.model_validate(payload)
    except ValidationError as exc:
        raise MalformedEvent(describe_validation_error(exc)) from None


def parse_event(payload: Any) -> WebhookEvent:
    if not isinstance(payload, dict):
        raise MalformedEvent("body must be a JSON object")
    try:
        return WebhookEvent.model_validate(payload)
    except ValidationError as exc:
        raise MalformedEvent(describe_validation_error(exc)) from None


def message_name(event_type: str) -> str | None:
    """The Zeebe message for this event type, or ``None`` for types we do not handle (yet)."""
    return MESSAGE_NAMES.get(event_type)


def message_variables(event: WebhookEvent) -> dict[str, str]:
    """Minimal, non-personal message variables: never metadata, never a URL."""
    return {"contractStatus": event.status, "contractEventId": event.event_id}
