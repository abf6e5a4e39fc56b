"""Webhook signatures, shared by the sandbox (signs) and the callback bridge (verifies).

The Standard Webhooks scheme: HMAC-SHA256 over ``"{webhook-id}.{webhook-timestamp}.{raw body}"``, base64
in ``webhook-signature`` as ``v1,<sig>`` (several space-separated signatures are allowed, e.g. while the
sender rotates its secret). The reference library ``standardwebhooks`` computes the signatures; its
``Webhook.verify`` takes one secret and decodes a malformed ``whsec_`` secret leniently (``whsec_a``
failed on every delivery, an empty one raised an unhandled error), so ``WebhookVerifier`` does the rest:

* secrets are parsed and checked once, when the verifier is built (``SecretInvalid`` says why, never the
  value): empty, surrounding whitespace, a ``whsec_`` value that is not base64, shorter than 16 bytes;
* one verifier holds up to a few keys (current + previous: rotation without a failed delivery); a
  delivery verifies if any of its ``v1`` signatures matches any key, compared in constant time;
* our configurable timestamp tolerance, never wider than the scheme's 5 minutes.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import math
import time
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone

from standardwebhooks.webhooks import Webhook

__all__ = [
    "HEADER_ID",
    "HEADER_SIGNATURE",
    "HEADER_TIMESTAMP",
    "MAX_TOLERANCE_S",
    "MIN_SECRET_BYTES",
    "SecretInvalid",
    "SignatureError",
    "WebhookVerifier",
    "secret_bytes",
    "secret_from_text",
    "sign",
    "verify",
]

HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"
WHSEC_PREFIX = "whsec_"
MIN_SECRET_BYTES = 16
MAX_TOLERANCE_S = 300.0  # the Standard Webhooks window; a configured tolerance never widens it


class SignatureError(Exception):
    """Why a delivery was refused; safe to log (no body, no secret)."""


class SecretInvalid(ValueError):
    """A secret that cannot be used; ``str()`` says why and never contains the value."""


def secret_bytes(secret: str) -> bytes:
    """The HMAC key of a secret: a ``whsec_``-prefixed base64 value, or a plain shared string (UTF-8)."""
    if not secret or not secret.strip():
        raise SecretInvalid("is empty")
    if secret != secret.strip():
        raise SecretInvalid("has leading or trailing whitespace")
    if secret.startswith(WHSEC_PREFIX):
        encoded = secret[len(WHSEC_PREFIX) :]
        if not encoded:
            raise SecretInvalid("is empty")
        try:
            # Unpadded base64 is common in whsec_ values; anything outside the alphabet is refused.
            key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise SecretInvalid("is a whsec_ value that is not valid base64") from None
    else:
        key = secret.encode()
    if len(key) < MIN_SECRET_BYTES:
        raise SecretInvalid(f"is too short ({len(key)} bytes; at least {MIN_SECRET_BYTES})")
    return key


def secret_from_text(secret: str) -> str:
    """Accept either a ``whsec_``-prefixed base64 secret or a plain shared string; return the whsec_ form."""
    if secret.startswith(WHSEC_PREFIX):
        return secret
    return WHSEC_PREFIX + base64.b64encode(secret.encode()).decode()


def sign(secret: str, event_id: str, body: bytes, timestamp: float | None = None) -> dict[str, str]:
    ts = int(time.time() if timestamp is None else timestamp)
    wh = Webhook(secret_from_text(secret))
    signature = wh.sign(event_id, datetime.fromtimestamp(ts, tz=timezone.utc), body.decode())
    return {HEADER_ID: event_id, HEADER_TIMESTAMP: str(ts), HEADER_SIGNATURE: signature}


def _signatures(header: str) -> list[bytes]:
    """The decodable ``v1`` signatures of a header; other versions and garbage entries are skipped."""
    found = []
    for entry in header.split(" "):
        version, _, encoded = entry.partition(",")
        if version != "v1" or not encoded:
            continue
        try:
            found.append(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            continue
    return found


class WebhookVerifier:
    """Verifies deliveries against one or more keys (built once, at start-up)."""

    def __init__(self, keys: Iterable[bytes]) -> None:
        self._webhooks = tuple(Webhook(key) for key in keys)
        if not self._webhooks:
            raise SecretInvalid("no secret given")

    @classmethod
    def from_secrets(cls, *secrets: str) -> "WebhookVerifier":
        """Raises ``SecretInvalid`` for an unusable secret (the caller names the variable)."""
        return cls(secret_bytes(s) for s in secrets)

    @property
    def key_count(self) -> int:
        return len(self._webhooks)

    def verify(
        self, body: bytes, headers: Mapping[str, str], tolerance_s: float = MAX_TOLERANCE_S, now: float | None = None
    ) -> str:
        """Return the verified event id, or raise ``SignatureError``."""
        lowered = {k.lower(): v for k, v in headers.items()}
        event_id = lowered.get(HEADER_ID)
        ts_text = lowered.get(HEADER_TIMESTAMP)
        signature_header = lowered.get(HEADER_SIGNATURE)
        if not event_id or not ts_text or not signature_header:
            raise SignatureError("missing signature headers")
        try:
            ts = float(ts_text)
        except ValueError:
            raise SignatureError("timestamp header is not a number") from None
        if not math.isfinite(ts):
            raise SignatureError("timestamp header is not a number")
        window = min(tolerance_s, MAX_TOLERANCE_S)
        current = time.time() if now is None else now
        if abs(current - ts) > window:
            raise SignatureError(f"timestamp outside the {window:.0f}s tolerance window")
        try:
            body_text = body.decode()
        except UnicodeDecodeError:
            raise SignatureError("body is not UTF-8") from None
        given = _signatures(signature_header)
        if not given:
            raise SignatureError("malformed signature header")
        signed_at = datetime.fromtimestamp(ts, tz=timezone.utc)
        expected = [base64.b64decode(wh.sign(event_id, signed_at, body_text)[3:]) for wh in self._webhooks]
        # Every pair is compared (no early exit), each in constant time.
        matches = [hmac.compare_digest(e, g) for e in expected for g in given]
        if not any(matches):
            raise SignatureError("no matching signature")
        return event_id


def verify(
    secret: str, body: bytes, headers: Mapping[str, str], tolerance_s: float = MAX_TOLERANCE_S, now: float | None = None
) -> str:
    """One-off verification with one secret (tests, tools); the bridge builds a ``WebhookVerifier`` once."""
    try:
        verifier = WebhookVerifier.from_secrets(secret)
    except SecretInvalid as exc:
        raise SignatureError(f"secret {exc}") from None
    return verifier.verify(body, headers, tolerance_s, now)
