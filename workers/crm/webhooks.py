"""HubSpot webhooks for the bridge: ``HubSpotSource`` (a ``workers.bridge.sources.WebhookSource``).

The pieces live next door and are re-exported here: v3 signatures (``sign``, ``HubSpotVerifier``) in
``workers.crm.signing``, the event batch (``parse_events``) in ``workers.crm.events``; see those modules for
what HubSpot publishes.

``HubSpotSource`` turns an authenticated batch into Zeebe messages: each Closed-Won deal change (a
``deal.propertyChange`` event, or a generic ``object.propertyChange`` on deals, setting ``dealstage`` to
``closed_won_stage``) is one ``deal-closed-won`` message, correlation key = the deal id (``objectId``),
message id = ``hs-<eventId>`` (the same in every retry of the event, whose ``attemptNumber`` grows); every
other event is ignored. One delivery is an array, so ``translate_all`` gives one outcome per event; the
single-outcome ``translate`` of the ``WebhookSource`` protocol covers batches that close at most one deal.
Nothing from an event but ids and its subscription type travels to Zeebe.
"""

from __future__ import annotations

from workers.bridge.sources import BadEvent, Ignore, Publish
from workers.crm.events import HubSpotEvent, MalformedHubSpotEvent, parse_events
from workers.crm.signing import (
    FUTURE_SKEW_S,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    MAX_AGE_S,
    HubSpotVerifier,
    SecretInvalid,
    SignatureError,
    canonical_uri,
    check_secret,
    sign,
    signature,
)

CLOSED_WON_MESSAGE = "deal-closed-won"
MESSAGE_ID_PREFIX = "hs-"


class HubSpotSource:
    """The bridge's ``WebhookSource`` for HubSpot (``/webhooks/hubspot``)."""

    def __init__(
        self,
        verifier: HubSpotVerifier,
        *,
        closed_won_stage: str,
        portal_id: str | None,
        provider: str = "spotdraft",
        ttl_ms: int | None = None,
    ) -> None:
        self.verifier = verifier
        self._stage = closed_won_stage
        self._portal_id = portal_id
        self._provider = provider
        self._ttl_ms = ttl_ms

    def _events(self, body: bytes) -> list[HubSpotEvent]:
        try:
            events = parse_events(body)
        except MalformedHubSpotEvent as exc:
            raise BadEvent("malformed_event", str(exc)) from None
        for index, event in enumerate(events):
            if self._portal_id is not None and event.portal_id != self._portal_id:
                raise BadEvent("unknown_portal", f"[{index}].portalId is not the HubSpot account this bridge serves",
                               event.subscription_type)  # fmt: skip
        return events

    def _closes_won(self, event: HubSpotEvent) -> bool:
        return (
            event.is_deal_property_change
            and event.property_name == "dealstage"
            and event.property_value == self._stage
        )

    def _publish(self, index: int, event: HubSpotEvent) -> Publish:
        if event.object_id is None:
            raise BadEvent("malformed_event", f"HubSpot event [{index}] lacks objectId", event.subscription_type)
        message_id = MESSAGE_ID_PREFIX + event.event_id
        return Publish(
            name=CLOSED_WON_MESSAGE,
            correlation_key=event.object_id,
            message_id=message_id,
            variables={"dealId": event.object_id, "crmEventId": message_id, "provider": self._provider},
            ttl_ms=self._ttl_ms,
            log={"event_type": event.subscription_type, "event_id": message_id, "deal_id": event.object_id},
        )

    def translate_all(self, body: bytes, signed_event_id: str | None = None) -> list[Publish | Ignore]:
        """One entry per event of the batch, in order: ``Publish`` for a Closed-Won deal change (an event id
        repeated within the batch is kept once), ``Ignore`` for every other event; ``[]`` for an empty batch.
        ``BadEvent`` refuses the whole batch (malformed, another portal)."""
        outcomes: list[Publish | Ignore] = []
        published: set[str] = set()
        for index, event in enumerate(self._events(body)):
            if not self._closes_won(event):
                outcomes.append(Ignore(event.subscription_type, MESSAGE_ID_PREFIX + event.event_id))
                continue
            publish = self._publish(index, event)
            if publish.message_id not in published:
                published.add(publish.message_id)
                outcomes.append(publish)
        return outcomes

    def translate(self, body: bytes, signed_event_id: str | None = None) -> Publish | Ignore:
        """The batch as ONE outcome: its Closed-Won message when all its Closed-Won events concern one deal
        (the first one in the batch), else ``Ignore`` (the first event, or ``empty_batch``). A batch closing several
        deals raises ``BadEvent("several_deals")``: the bridge must use ``translate_all`` for HubSpot."""
        outcomes = self.translate_all(body, signed_event_id)
        publishes = [o for o in outcomes if isinstance(o, Publish)]
        if not publishes:
            first = outcomes[0] if outcomes else Ignore("empty_batch")
            return first  # type: ignore[return-value]
        deals = sorted({p.correlation_key for p in publishes})
        if len(deals) > 1:
            raise BadEvent("several_deals", f"the batch closes {len(deals)} deals; use translate_all",
                           publishes[0].log["event_type"])  # fmt: skip
        return publishes[0]


__all__ = [
    "CLOSED_WON_MESSAGE",
    "FUTURE_SKEW_S",
    "HEADER_SIGNATURE",
    "HEADER_TIMESTAMP",
    "MAX_AGE_S",
    "MESSAGE_ID_PREFIX",
    "HubSpotEvent",
    "HubSpotSource",
    "HubSpotVerifier",
    "MalformedHubSpotEvent",
    "SecretInvalid",
    "SignatureError",
    "canonical_uri",
    "check_secret",
    "parse_events",
    "sign",
    "signature",
]
