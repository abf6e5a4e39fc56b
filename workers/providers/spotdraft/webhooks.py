"""SpotDraft webhooks: the signature (the sandbox signs, the bridge verifies), the event, and the bridge's
``SpotDraftSource`` (a ``workers.bridge.sources.WebhookSource``).

Published (SpotDraft Public API, "Webhooks"; ``ContractActivityDomainModel``): a JSON ``POST`` with
``{activity, contract_id (integer), contract_status, contract_title, activity_data{performed_by, timestamp},
external_metadata, counterparties, ...}``. ``X-SD-WEBHOOK-CONTENT-HASH`` is the hex HMAC-SHA512 of the raw
body, keyed with the BASE64-DECODED ``hmac_key`` of ``GET /api/v2.1/public/webhooks/hmac_key/``. A declined
signature answers ``CONTRACT_SIGNATURE_DECLINED`` with the contract back in ``DRAFT`` (published example);
``CONTRACT_VOIDED`` follows ``POST contracts/{composite_id}/status/void``.

Our assumptions and choices:

* nothing timestamps the signature, so there is no freshness window (``tolerance_s`` is accepted for the
  bridge's interface and unused). Replay protection is de-duplication: the message id is derived from the
  body (``message_id``), so a redelivery or a replay within the bridge's message TTL is the same Zeebe
  message, and a contract's executed/declined/voided step is only waited for once;
* ``message_id`` = ``"sd-"`` + 32 hex chars of SHA-256 over ``contract_id|activity|activity_data.timestamp``
  (SpotDraft publishes no delivery id);
* keys must decode (standard base64, padding optional) to at least 32 bytes (SpotDraft's are 64);
* only ids, the status and the activity travel to Zeebe: never the title, ``performed_by``, counterparties or
  ``external_metadata`` (they can name people).

``SignatureError`` and ``MalformedSpotDraftEvent`` messages are safe to log: no body value, no key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from workers.bridge.sources import BadEvent, Ignore, Publish
from workers.errors import SafeMessage
from workers.signing import SecretInvalid, SignatureError

HEADER_SIGNATURE = "X-SD-WEBHOOK-CONTENT-HASH"
MIN_KEY_BYTES = 32
# activity -> Zeebe message name (correlation key: the integer contract id, as a string).
MESSAGE_NAMES: dict[str, str] = {
    "CONTRACT_EXECUTED": "contract-executed",
    "CONTRACT_SIGNATURE_DECLINED": "contract-declined",
    "CONTRACT_VOIDED": "contract-voided",
}

_HEX_SHA512 = re.compile(r"[0-9a-f]{128}")
_B64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_ACTIVITY = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
_STATUS = re.compile(r"[A-Z][A-Z_]{0,31}")
_TIMESTAMP = re.compile(r"[0-9][0-9T:+.Z -]{0,39}")


class MalformedSpotDraftEvent(SafeMessage, ValueError):
    """A body that is not a SpotDraft contract event; names the offending fields, never their values."""

    def __init__(self, message: str, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.fields = list(fields or [])


# --- signing ----------------------------------------------------------------------------------------


def decode_key(key_b64: str) -> bytes:
    """The HMAC key of a base64 ``hmac_key``; ``SecretInvalid`` says what is wrong, never the value."""
    if not isinstance(key_b64, str) or not key_b64.strip():
        raise SecretInvalid("is empty")
    if key_b64 != key_b64.strip():
        raise SecretInvalid("has leading or trailing whitespace")
    padded = key_b64 + "=" * (-len(key_b64) % 4)
    if not _B64.fullmatch(padded):
        raise SecretInvalid("is not base64 (SpotDraft's hmac_key is base64; paste it unchanged)")
    try:
        key = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        raise SecretInvalid("is not valid base64") from None
    if len(key) < MIN_KEY_BYTES:
        raise SecretInvalid(f"is too short ({len(key)} bytes after base64 decoding; at least {MIN_KEY_BYTES})")
    return key


def content_hash(body: bytes, key: bytes) -> str:
    """Lowercase hex HMAC-SHA512 of the raw body (published scheme)."""
    return hmac.new(key, body, hashlib.sha512).hexdigest()


def sign(body: bytes, key_b64: str) -> dict[str, str]:
    """The signature header of one delivery (the sandbox and tests)."""
    return {HEADER_SIGNATURE: content_hash(body, decode_key(key_b64))}


class SpotDraftVerifier:
    """Verifies deliveries against the current and (during a rotation) the previous workspace key."""

    def __init__(self, keys: Iterable[bytes]) -> None:
        self._keys = tuple(keys)
        if not self._keys:
            raise SecretInvalid("no key given")

    @classmethod
    def from_keys(cls, current_b64: str, previous_b64: str | None = None) -> "SpotDraftVerifier":
        """Raises ``SecretInvalid`` for an unusable key (the caller names the variable)."""
        keys = [decode_key(current_b64)]
        if previous_b64 is not None:
            try:
                keys.append(decode_key(previous_b64))
            except SecretInvalid as exc:
                raise SecretInvalid(f"previous key {exc}") from None
        return cls(keys)

    @property
    def key_count(self) -> int:
        return len(self._keys)

    def verify(self, body: bytes, headers: Mapping[str, str], tolerance_s: float = 0.0) -> None:
        """Return when one of our keys signed ``body``; raise ``SignatureError`` otherwise. ``tolerance_s`` is
        unused: SpotDraft signs no timestamp (see the module docstring)."""
        lowered = {str(k).lower(): v for k, v in headers.items()}
        given = lowered.get(HEADER_SIGNATURE.lower())
        if not given:
            raise SignatureError(f"missing {HEADER_SIGNATURE} header")
        candidate = given.strip().lower().encode()
        if not _HEX_SHA512.fullmatch(candidate.decode()):
            raise SignatureError(f"{HEADER_SIGNATURE} is not a hex SHA-512 HMAC")
        # Every key is compared (no early exit), each in constant time.
        matches = [hmac.compare_digest(content_hash(body, key).encode(), candidate) for key in self._keys]
        if not any(matches):
            raise SignatureError("no matching signature")


# --- events -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpotDraftEvent:
    """The parts of a delivery the workers use (everything else in the body is ignored)."""

    activity: str
    contract_id: int
    contract_status: str
    timestamp: str  # activity_data.timestamp, exactly as sent

    @property
    def message_id(self) -> str:
        return message_id(self)


def message_id(event: SpotDraftEvent) -> str:
    digest = hashlib.sha256(f"{event.contract_id}|{event.activity}|{event.timestamp}".encode()).hexdigest()
    return "sd-" + digest[:32]


def _load(body: bytes) -> dict[str, Any]:
    try:
        raw = json.loads(body)
    except (ValueError, RecursionError):
        raise MalformedSpotDraftEvent("SpotDraft event body is not JSON") from None
    if not isinstance(raw, dict):
        raise MalformedSpotDraftEvent("SpotDraft event body is not a JSON object")
    return raw


def _activity(raw: dict[str, Any]) -> str:
    activity = raw.get("activity")
    if not isinstance(activity, str) or not _ACTIVITY.fullmatch(activity):
        raise MalformedSpotDraftEvent("SpotDraft event has a missing or invalid activity", ["activity"])
    return activity


def parse_event(body: bytes) -> SpotDraftEvent:
    """The event of a delivery body; ``MalformedSpotDraftEvent`` names the bad fields (never their values)."""
    raw = _load(body)
    activity = _activity(raw)
    bad: list[str] = []
    contract_id = raw.get("contract_id")
    if isinstance(contract_id, bool) or not isinstance(contract_id, int) or contract_id <= 0:
        bad.append("contract_id")
    status = raw.get("contract_status")
    if not isinstance(status, str) or not _STATUS.fullmatch(status):
        bad.append("contract_status")
    data = raw.get("activity_data")
    timestamp = data.get("timestamp") if isinstance(data, dict) else None
    if not isinstance(timestamp, str) or not _TIMESTAMP.fullmatch(timestamp):
        bad.append("activity_data.timestamp")
    if bad:
        raise MalformedSpotDraftEvent(f"SpotDraft event has missing or invalid fields: {', '.join(bad)}", bad)
    return SpotDraftEvent(activity, contract_id, status, timestamp)  # type: ignore[arg-type]


class SpotDraftSource:
    """SpotDraft's contract activity webhooks (``X-SD-WEBHOOK-CONTENT-HASH``) for the bridge:
    ``CONTRACT_EXECUTED`` / ``CONTRACT_SIGNATURE_DECLINED`` / ``CONTRACT_VOIDED`` become ``contract-executed`` /
    ``contract-declined`` / ``contract-voided`` correlated by the integer contract id; other activities are
    acknowledged and ignored (SpotDraft would otherwise retry them)."""

    def __init__(self, verifier: SpotDraftVerifier) -> None:
        self.verifier = verifier

    def translate(self, body: bytes, signed_event_id: str | None) -> Publish | Ignore:
        # signed_event_id is always None: the scheme signs no id (message_id derives one from the body).
        try:
            raw = _load(body)
            activity = _activity(raw)
        except MalformedSpotDraftEvent as exc:
            raise BadEvent("malformed_event", str(exc)) from None
        name = MESSAGE_NAMES.get(activity)
        if name is None:
            try:
                return Ignore(activity, parse_event(body).message_id)
            except MalformedSpotDraftEvent:  # acknowledged all the same: we do not act on it
                return Ignore(activity)
        try:
            event = parse_event(body)
        except MalformedSpotDraftEvent as exc:
            raise BadEvent("malformed_event", str(exc), activity) from None
        eid = event.message_id
        key = str(event.contract_id)
        return Publish(
            name=name,
            correlation_key=key,
            message_id=eid,
            variables={"contractStatus": event.contract_status, "contractActivity": activity, "contractEventId": eid},
            log={"event_type": activity, "event_id": eid, "contract_id": key},
        )


__all__ = [
    "HEADER_SIGNATURE",
    "MESSAGE_NAMES",
    "MIN_KEY_BYTES",
    "MalformedSpotDraftEvent",
    "SecretInvalid",
    "SignatureError",
    "SpotDraftEvent",
    "SpotDraftSource",
    "SpotDraftVerifier",
    "content_hash",
    "decode_key",
    "message_id",
    "parse_event",
    "sign",
]
