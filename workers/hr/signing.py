"""BambooHR event-based webhooks: signatures (the sandbox signs, the bridge verifies) and the event body.

Published (BambooHR docs, JSON webhooks): the body is ``{"type": "employee.created" | "employee.updated" |
"employee.deleted", "timestamp": "2026-01-31T18:42:00+0000", "data": {"companyId", "employeeId",
"changedFields" (employee.updated only)}}`` and carries no personal data. Headers: ``X-BambooHR-Timestamp``
(when the request was sent) and ``X-BambooHR-Signature`` = lowercase hex HMAC-SHA256, keyed with the
webhook's private key, over the raw body bytes followed by the timestamp header value (body + timestamp,
as BambooHR's PHP example and the public verifiers compute it). BambooHR retries failed deliveries.

Our assumptions (not in the docs):

* the timestamp header is Unix seconds; ISO-8601 is accepted too when verifying;
* the docs define no event id, so ``event_id`` derives one: ``"bhr-"`` + the first 32 hex characters of
  SHA-256 over ``type|companyId|employeeId|timestamp`` of the BODY. A redelivery of one event repeats the
  body (hence the id); two different events differ in at least one of these;
* keys are plain strings used as UTF-8 bytes, at least 16 characters, without surrounding whitespace;
* the replay window is ours (``tolerance_s``), never wider than 300 s.

``SignatureError`` and ``MalformedHrEvent`` messages are safe to log: no body value, no key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import time
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from workers.errors import SafeMessage
from workers.signing import MAX_TOLERANCE_S, SecretInvalid, SignatureError

HEADER_TIMESTAMP = "X-BambooHR-Timestamp"
HEADER_SIGNATURE = "X-BambooHR-Signature"
MIN_KEY_CHARS = 16
EVENT_TYPES = ("employee.created", "employee.updated", "employee.deleted")
EventType = Literal["employee.created", "employee.updated", "employee.deleted"]

_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_CHANGED_FIELD = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_BODY_TIMESTAMP = re.compile(r"[0-9T:+.Z -]{1,40}")
_HEX_SIGNATURE = re.compile(r"[0-9a-f]{64}")


class MalformedHrEvent(SafeMessage, ValueError):
    """A body that is not a BambooHR event; names the offending fields, never their values."""

    def __init__(self, message: str, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.fields = list(fields or [])


# --- signing ----------------------------------------------------------------------------------------


def check_key(key: str) -> bytes:
    """The HMAC key bytes of a private key; ``SecretInvalid`` says what is wrong, never the value."""
    if not isinstance(key, str) or not key.strip():
        raise SecretInvalid("is empty")
    if key != key.strip():
        raise SecretInvalid("has leading or trailing whitespace")
    if len(key) < MIN_KEY_CHARS:
        raise SecretInvalid(f"is too short ({len(key)} characters; at least {MIN_KEY_CHARS})")
    return key.encode()


def signature(body: bytes, key: str | bytes, timestamp: str) -> str:
    """Lowercase hex HMAC-SHA256 over ``body + timestamp`` (published scheme)."""
    raw_key = key.encode() if isinstance(key, str) else key
    return hmac.new(raw_key, body + timestamp.encode(), hashlib.sha256).hexdigest()


def sign(body: bytes, key: str, timestamp: str | None = None) -> dict[str, str]:
    """The two headers of one delivery; ``timestamp`` defaults to now as Unix seconds (our assumption)."""
    ts = str(int(time.time())) if timestamp is None else timestamp
    return {HEADER_TIMESTAMP: ts, HEADER_SIGNATURE: signature(body, key, ts)}


def parse_timestamp(text: str) -> float:
    """Unix seconds (assumed format) or ISO-8601 (a naive one is UTC); ``ValueError`` otherwise."""
    text = text.strip()
    if not text or len(text) > 64:
        raise ValueError("empty or too long")
    try:
        seconds = float(text)
    except ValueError:
        when = datetime.fromisoformat(text)
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return when.timestamp()
    if not math.isfinite(seconds):
        raise ValueError("not finite")
    return seconds


class BambooHrVerifier:
    """Verifies deliveries against the current and (during a rotation) the previous private key."""

    def __init__(self, keys: Iterable[bytes]) -> None:
        self._keys = tuple(keys)
        if not self._keys:
            raise SecretInvalid("no key given")

    @classmethod
    def from_keys(cls, current: str, previous: str | None = None) -> "BambooHrVerifier":
        """Raises ``SecretInvalid`` for an unusable key (the caller names the variable)."""
        keys = [check_key(current)]
        if previous is not None:
            try:
                keys.append(check_key(previous))
            except SecretInvalid as exc:
                raise SecretInvalid(f"previous key {exc}") from None
        return cls(keys)

    @property
    def key_count(self) -> int:
        return len(self._keys)

    def verify(
        self, body: bytes, headers: Mapping[str, str], tolerance_s: float = MAX_TOLERANCE_S, now: float | None = None
    ) -> None:
        """Return when a key signed ``body`` recently enough; raise ``SignatureError`` otherwise."""
        lowered = {str(k).lower(): v for k, v in headers.items()}
        ts_text = lowered.get(HEADER_TIMESTAMP.lower())
        given = lowered.get(HEADER_SIGNATURE.lower())
        missing = [name for name, value in ((HEADER_SIGNATURE, given), (HEADER_TIMESTAMP, ts_text)) if not value]
        if missing:
            raise SignatureError(f"missing {' and '.join(missing)} header")
        try:
            ts = parse_timestamp(ts_text)  # type: ignore[arg-type]
        except (ValueError, OverflowError):
            raise SignatureError(f"{HEADER_TIMESTAMP} is neither Unix seconds nor ISO-8601") from None
        window = min(tolerance_s, MAX_TOLERANCE_S)
        current = time.time() if now is None else now
        if abs(current - ts) > window:
            raise SignatureError(f"{HEADER_TIMESTAMP} outside the {window:.0f}s tolerance window")
        candidate = given.strip().lower()  # type: ignore[union-attr]
        if not _HEX_SIGNATURE.fullmatch(candidate):
            raise SignatureError(f"{HEADER_SIGNATURE} is not a hex SHA-256 HMAC")
        # Signed over the header value exactly as sent. Every key is compared (no early exit).
        expected = [signature(body, key, ts_text) for key in self._keys]  # type: ignore[arg-type]
        matches = [hmac.compare_digest(e.encode(), candidate.encode()) for e in expected]
        if not any(matches):
            raise SignatureError("no matching signature")


# --- events -----------------------------------------------------------------------------------------


def _event_id(event_type: str, company_id: str, employee_id: str, timestamp: str) -> str:
    digest = hashlib.sha256(f"{event_type}|{company_id}|{employee_id}|{timestamp}".encode()).hexdigest()
    return "bhr-" + digest[:32]


def _text(value: Any) -> str | None:
    """A JSON string or integer as text (ids may come as numbers); anything else is None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (str, int)):
        return str(value)
    return None


def event_id(body_event: dict[str, Any]) -> str:
    """Our id of an event (assumption, see the module docstring), from the parsed BODY; the same value as
    ``parse_event(body).event_id``."""
    event = body_event if isinstance(body_event, dict) else {}
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    parts = {
        "type": _text(event.get("type")),
        "data.companyId": _text(data.get("companyId")),
        "data.employeeId": _text(data.get("employeeId")),
        "timestamp": _text(event.get("timestamp")),
    }
    absent = [name for name, value in parts.items() if value is None]
    if absent:
        raise MalformedHrEvent(f"BambooHR event lacks {', '.join(absent)}", absent)
    return _event_id(*parts.values())  # type: ignore[arg-type]


class HrEvent(BaseModel):
    """A parsed BambooHR event (ids as strings)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    type: EventType
    timestamp: str = Field(pattern=f"^{_BODY_TIMESTAMP.pattern}$")
    company_id: str = Field(pattern=f"^{_ID.pattern}$")
    employee_id: str = Field(pattern=f"^{_ID.pattern}$")
    changed_fields: list[str] = []

    @field_validator("changed_fields")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        if not all(_CHANGED_FIELD.fullmatch(name) for name in value):
            raise ValueError("not a list of field names")
        return value

    @property
    def event_id(self) -> str:
        return _event_id(self.type, self.company_id, self.employee_id, self.timestamp)


_LOCATIONS = {"company_id": "data.companyId", "employee_id": "data.employeeId", "changed_fields": "data.changedFields"}


def parse_event(body: bytes) -> HrEvent:
    """The event of a delivery body; ``MalformedHrEvent`` names the bad fields (never their values)."""
    try:
        raw = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise MalformedHrEvent("BambooHR event body is not JSON") from None
    if not isinstance(raw, dict):
        raise MalformedHrEvent("BambooHR event body is not a JSON object")
    data = raw.get("data")
    if not isinstance(data, dict):
        raise MalformedHrEvent("BambooHR event lacks the data object", ["data"])
    candidate = {
        "type": raw.get("type"),
        "timestamp": raw.get("timestamp"),
        "company_id": _text(data.get("companyId")),
        "employee_id": _text(data.get("employeeId")),
        "changed_fields": data.get("changedFields") or [],
    }
    try:
        return HrEvent.model_validate(candidate)
    except ValidationError as exc:
        # The validation error's own text quotes the input: only locations are kept.
        names = sorted({_LOCATIONS.get(str(e["loc"][0]), str(e["loc"][0])) for e in exc.errors() if e.get("loc")})
        raise MalformedHrEvent(f"BambooHR event has missing or invalid fields: {', '.join(names)}", names) from None


__all__ = [
    "BambooHrVerifier",
    "EVENT_TYPES",
    "HEADER_SIGNATURE",
    "HEADER_TIMESTAMP",
    "HrEvent",
    "MalformedHrEvent",
    "SecretInvalid",
    "SignatureError",
    "check_key",
    "event_id",
    "parse_event",
    "parse_timestamp",
    "sign",
    "signature",
]
