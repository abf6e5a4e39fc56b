"""HubSpot webhook deliveries: a JSON array of events, parsed without ever repeating a value.

Published (HubSpot docs, Webhooks API): one POST carries a JSON array of up to 100 events, each
``{eventId, subscriptionId, portalId, appId, occurredAt (Unix ms), subscriptionType, attemptNumber (0 on
the first attempt), objectId, propertyName, propertyValue, changeSource, sourceId, changeFlag...}``; fields
depend on the subscription type (association changes have no ``objectId``; only property changes carry
``propertyName``/``propertyValue``). ``eventId`` is the same in every retry of an event, whose
``attemptNumber`` grows; HubSpot does not guarantee it unique across events. The newer developer platform
also sends generic ``object.propertyChange`` events with ``objectTypeId`` (``0-3`` = deals).

Our choices: the fields every event needs (``eventId``, ``portalId``, ``subscriptionType``,
``occurredAt``) and the ids and names we may act on (``objectId``, ``objectTypeId``, ``propertyName``) are
checked strictly: a bad one makes the whole delivery malformed. Fields we only log (``subscriptionId``,
``appId``, ``attemptNumber``, ``changeSource``) become ``None`` (0) when unusable, so an odd field in an
event we ignore anyway cannot get a Closed-Won event of the same batch refused. ``propertyValue`` is kept
(a deal stage id is what we match) but never shown: not in ``repr``, not in an error.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from workers.errors import SafeMessage

_ID = r"^[0-9A-Za-z_-]{1,64}$"
_SUBSCRIPTION_TYPE = r"^[A-Za-z_]{1,40}\.[A-Za-z_]{1,40}$"
_PROPERTY = r"^[A-Za-z0-9_.-]{1,100}$"
_LOOSE = re.compile(r"[0-9A-Za-z_.:-]{1,64}")
DEALS_OBJECT_TYPE_ID = "0-3"


class MalformedHubSpotEvent(SafeMessage, ValueError):
    """A body that is not a batch of HubSpot events; names the offending fields (``[2].objectId``), never
    their values."""

    def __init__(self, message: str, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.fields = list(fields or [])


class HubSpotEvent(BaseModel):
    """One event of a delivery (ids as strings)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str = Field(pattern=_ID)
    portal_id: str = Field(pattern=_ID)
    subscription_type: str = Field(pattern=_SUBSCRIPTION_TYPE)
    occurred_at: int = Field(ge=0)
    object_id: str | None = Field(default=None, pattern=_ID)
    object_type_id: str | None = Field(default=None, pattern=_ID)
    property_name: str | None = Field(default=None, pattern=_PROPERTY)
    property_value: str | None = Field(default=None, repr=False)
    subscription_id: str | None = None
    app_id: str | None = None
    attempt_number: int = 0
    change_source: str | None = None

    @property
    def is_deal_property_change(self) -> bool:
        if self.subscription_type == "deal.propertyChange":
            return True
        return self.subscription_type == "object.propertyChange" and self.object_type_id == DEALS_OBJECT_TYPE_ID


_LOCATIONS = {
    "event_id": "eventId", "portal_id": "portalId", "subscription_type": "subscriptionType",
    "occurred_at": "occurredAt", "object_id": "objectId", "object_type_id": "objectTypeId",
    "property_name": "propertyName", "property_value": "propertyValue",
}  # fmt: skip


def _id_text(value: Any) -> Any:
    """JSON integers (HubSpot's ids) as text; anything else unchanged, for the model to judge."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _loose(value: Any) -> str | None:
    text = _id_text(value)
    return text if isinstance(text, str) and _LOOSE.fullmatch(text) else None


def _value(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


def _event(index: int, raw: Any) -> HubSpotEvent:
    if not isinstance(raw, dict):
        raise MalformedHubSpotEvent(f"HubSpot event [{index}] is not a JSON object", [f"[{index}]"])
    attempt = raw.get("attemptNumber")
    attempt = attempt if isinstance(attempt, int) and not isinstance(attempt, bool) and attempt >= 0 else 0
    candidate = {
        "event_id": _id_text(raw.get("eventId")),
        "portal_id": _id_text(raw.get("portalId")),
        "subscription_type": raw.get("subscriptionType"),
        "occurred_at": raw.get("occurredAt"),
        "object_id": _id_text(raw.get("objectId")),
        "object_type_id": raw.get("objectTypeId"),
        "property_name": raw.get("propertyName"),
        "property_value": _value(raw.get("propertyValue")),
        "subscription_id": _loose(raw.get("subscriptionId")),
        "app_id": _loose(raw.get("appId")),
        "attempt_number": attempt,
        "change_source": _loose(raw.get("changeSource")),
    }
    try:
        return HubSpotEvent.model_validate(candidate, strict=True)
    except ValidationError as exc:
        # The validation error's own text quotes the input: only locations are kept.
        locations = {str(e["loc"][0]) for e in exc.errors() if e.get("loc")}
        names = sorted(f"[{index}].{_LOCATIONS.get(loc, loc)}" for loc in locations)
        raise MalformedHubSpotEvent(f"HubSpot event has missing or invalid fields: {', '.join(names)}", names) from None


def parse_events(body: bytes) -> list[HubSpotEvent]:
    """The events of a delivery body, in order; ``MalformedHubSpotEvent`` names the bad fields."""
    try:
        raw = json.loads(body)
    except (ValueError, RecursionError):
        raise MalformedHubSpotEvent("HubSpot webhook body is not JSON") from None
    if not isinstance(raw, list):
        raise MalformedHubSpotEvent("HubSpot webhook body is not a JSON array of events")
    return [_event(index, item) for index, item in enumerate(raw)]


__all__ = ["DEALS_OBJECT_TYPE_ID", "HubSpotEvent", "MalformedHubSpotEvent", "parse_events"]
