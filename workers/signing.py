"""Webhook signatures, shared by the sandbox (signs) and the callback bridge (verifies).

We use the Standard Webhooks scheme through its reference library ``standardwebhooks``:
HMAC-SHA256 over ``"{webhook-id}.{webhook-timestamp}.{raw body}"``, base64 in ``webhook-signature``
as ``v1,<sig>``, compared in constant time. Signing the timestamp together with the body is what makes
the timestamp header trustworthy for replay protection. The library's own window is a fixed 5 minutes;
we enforce our configurable (tighter or equal) tolerance first.
"""

from __future__ import annotations

import base64
import time
from datetime import datetime, timezone
from typing import Mapping

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"


class SignatureError(Exception):
    """Why a delivery was refused; safe to log (no body, no secret)."""


def secret_from_text(secret: str) -> str:
    """Accept either a ``whsec_``-prefixed base64 secret or a plain shared string."""
    if secret.startswith("whsec_"):
        return secret
    return "whsec_" + base64.b64encode(secret.encode()).decode()


def sign(secret: str, event_id: str, body: bytes, timestamp: float | None = None) -> dict[str, str]:
    ts = int(time.time() if timestamp is None else timestamp)
    wh = Webhook(secret_from_text(secret))
    signature = wh.sign(event_id, datetime.fromtimestamp(ts, tz=timezone.utc), body.decode())
    return {HEADER_ID: event_id, HEADER_TIMESTAMP: str(ts), HEADER_SIGNATURE: signature}


def verify(
    secret: str, body: bytes, headers: Mapping[str, str], tolerance_s: float = 300.0, now: float | None = None
) -> str:
    """Return the verified event id, or raise ``SignatureError``."""
    lowered = {k.lower(): v for k, v in headers.items()}
    event_id = lowered.get(HEADER_ID)
    ts_text = lowered.get(HEADER_TIMESTAMP)
    if not event_id or not ts_text or not lowered.get(HEADER_SIGNATURE):
        raise SignatureError("missing signature headers")
    try:
        ts = float(ts_text)
    except ValueError:
        raise SignatureError("timestamp header is not a number") from None
    current = time.time() if now is None else now
    if abs(current - ts) > tolerance_s:
        raise SignatureError(f"timestamp outside the {tolerance_s:.0f}s tolerance window")
    try:
        body_text = body.decode()
    except UnicodeDecodeError:
        raise SignatureError("body is not UTF-8") from None
    try:
        Webhook(secret_from_text(secret)).verify(body_text, dict(lowered), json_parse=False)
    except WebhookVerificationError as exc:
        raise SignatureError(str(exc)) from None
    except (ValueError, IndexError):  # malformed signature header (bad base64, no comma)
        raise SignatureError("malformed signature header") from None
    return event_id
