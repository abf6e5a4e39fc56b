"""HubSpot's v3 request signatures: the sandbox signs, the bridge verifies (``HubSpotVerifier``).

Published (HubSpot docs, "Validating requests", v3 signature):

* ``X-HubSpot-Signature-v3`` = base64 of HMAC-SHA256, keyed with the app's client secret, over the UTF-8
  string ``method + uri + body + timestamp``; ``timestamp`` is the ``X-HubSpot-Request-Timestamp`` header
  (Unix milliseconds) and ``uri`` the full URL the request was sent to (scheme, host, path, query);
* in ``uri``, these escapes are decoded first: ``%3A : %2F / %3F ? %40 @ %21 ! %24 $ %27 ' %28 ( %29 )
  %2A * %2C , %3B ;`` (``canonical_uri``); any other escape stays as it is;
* reject a request whose timestamp is older than 5 minutes; compare in constant time.

Our choices: the URI is configured (``HUBSPOT_WEBHOOK_URL``), not read from the request, since a proxy may
change scheme, host or path; escapes are decoded in either case (``%3a`` too); a timestamp more than
``FUTURE_SKEW_S`` ahead of our clock is refused; client secrets are plain strings used as UTF-8 bytes, at
least 16 characters (HubSpot's are UUIDs). The older ``X-HubSpot-Signature`` (v1/v2, no timestamp) is
never accepted. ``SignatureError`` messages are safe to log: no body, no secret, no URL.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from workers.signing import SecretInvalid, SignatureError

HEADER_SIGNATURE = "X-HubSpot-Signature-v3"
HEADER_TIMESTAMP = "X-HubSpot-Request-Timestamp"
MAX_AGE_S = 300.0
FUTURE_SKEW_S = 60.0
MIN_SECRET_CHARS = 16
_DECODED = {"3A": ":", "2F": "/", "3F": "?", "40": "@", "21": "!", "24": "$", "27": "'", "28": "(", "29": ")",
            "2A": "*", "2C": ",", "3B": ";"}  # fmt: skip
_ESCAPE = re.compile(r"%(3[AaFfBb]|2[FfAaCc14789]|40)")
_MILLIS = re.compile(r"[0-9]{1,16}")


def canonical_uri(uri: str) -> str:
    """The URI as HubSpot signs it: the published escapes decoded, everything else untouched."""
    return _ESCAPE.sub(lambda m: _DECODED.get(m.group(1).upper(), m.group(0)), uri)


def check_secret(secret: str) -> bytes:
    """The HMAC key of a client secret; ``SecretInvalid`` says what is wrong, never the value."""
    if not isinstance(secret, str) or not secret.strip():
        raise SecretInvalid("is empty")
    if secret != secret.strip():
        raise SecretInvalid("has leading or trailing whitespace")
    if len(secret) < MIN_SECRET_CHARS:
        raise SecretInvalid(f"is too short ({len(secret)} characters; at least {MIN_SECRET_CHARS})")
    return secret.encode()


def _digest(key: bytes, method: str, uri: str, body: bytes, timestamp: str) -> bytes:
    source = method.upper().encode() + canonical_uri(uri).encode() + body + timestamp.encode()
    return hmac.new(key, source, hashlib.sha256).digest()


def signature(method: str, uri: str, body: bytes, secret: str | bytes, timestamp: str) -> str:
    """Base64 HMAC-SHA256 over ``method + uri + body + timestamp`` (published v3 scheme)."""
    key = secret.encode() if isinstance(secret, str) else secret
    return base64.b64encode(_digest(key, method, uri, body, timestamp)).decode()


def sign(method: str, uri: str, body: bytes, secret: str, timestamp_ms: int | None = None) -> dict[str, str]:
    """The two headers of one delivery; ``timestamp_ms`` defaults to now (Unix milliseconds)."""
    ts = str(int(time.time() * 1000) if timestamp_ms is None else int(timestamp_ms))
    return {HEADER_SIGNATURE: signature(method, uri, body, secret, ts), HEADER_TIMESTAMP: ts}


class HubSpotVerifier:
    """Verifies deliveries against the current and (during a rotation) the previous client secret."""

    def __init__(self, keys: Iterable[bytes], *, uri: str, method: str = "POST", max_age_s: float = MAX_AGE_S) -> None:
        self._keys = tuple(keys)
        if not self._keys:
            raise SecretInvalid("no client secret given")
        parts = urlsplit(uri)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("uri must be the absolute http(s) URL HubSpot sends webhooks to")
        self.uri = uri
        self.method = method.upper()
        self.max_age_s = min(float(max_age_s), MAX_AGE_S)

    @classmethod
    def from_secrets(
        cls, current: str, previous: str | None = None, *, uri: str, method: str = "POST", max_age_s: float = MAX_AGE_S
    ) -> "HubSpotVerifier":
        """Raises ``SecretInvalid`` for an unusable secret (the caller names the variable)."""
        keys = [check_secret(current)]
        if previous is not None:
            try:
                keys.append(check_secret(previous))
            except SecretInvalid as exc:
                raise SecretInvalid(f"previous secret {exc}") from None
        return cls(keys, uri=uri, method=method, max_age_s=max_age_s)

    @property
    def key_count(self) -> int:
        return len(self._keys)

    def verify(
        self, body: bytes, headers: Mapping[str, str], tolerance_s: float = MAX_AGE_S, now: float | None = None
    ) -> None:
        """Return when a secret signed this delivery recently enough; raise ``SignatureError`` otherwise.
        HubSpot signs no event id (a delivery is a batch): nothing is returned."""
        lowered = {str(k).lower(): v for k, v in headers.items()}
        ts_text = lowered.get(HEADER_TIMESTAMP.lower())
        given = lowered.get(HEADER_SIGNATURE.lower())
        missing = [name for name, value in ((HEADER_SIGNATURE, given), (HEADER_TIMESTAMP, ts_text)) if not value]
        if missing:
            raise SignatureError(f"missing {' and '.join(missing)} header")
        if not _MILLIS.fullmatch(ts_text.strip()):  # type: ignore[union-attr]
            raise SignatureError(f"{HEADER_TIMESTAMP} is not Unix milliseconds")
        window = min(tolerance_s, self.max_age_s)
        age = (time.time() if now is None else now) - int(ts_text) / 1000  # type: ignore[arg-type]
        if age > window:
            raise SignatureError(f"{HEADER_TIMESTAMP} is older than the {window:.0f}s window")
        if age < -FUTURE_SKEW_S:
            raise SignatureError(f"{HEADER_TIMESTAMP} is more than {FUTURE_SKEW_S:.0f}s in the future")
        try:
            candidate = base64.b64decode(given.strip(), validate=True)  # type: ignore[union-attr]
        except (binascii.Error, ValueError):
            raise SignatureError(f"{HEADER_SIGNATURE} is not base64") from None
        # Signed over the timestamp header exactly as sent. Every secret is compared (no early exit).
        expected = [_digest(key, self.method, self.uri, body, ts_text) for key in self._keys]  # type: ignore[arg-type]
        matches = [hmac.compare_digest(e, candidate) for e in expected]
        if not any(matches):
            raise SignatureError("no matching signature")


__all__ = [
    "FUTURE_SKEW_S",
    "HEADER_SIGNATURE",
    "HEADER_TIMESTAMP",
    "HubSpotVerifier",
    "MAX_AGE_S",
    "MIN_SECRET_CHARS",
    "SecretInvalid",
    "SignatureError",
    "canonical_uri",
    "check_secret",
    "sign",
    "signature",
]
