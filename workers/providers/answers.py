"""Reading a provider's answers defensively: Retry-After, problem details, media types.

Everything here treats the provider as untrusted input: a ``Retry-After`` of ``1e300`` or an HTTP-date in
the year 9999 is clamped (a job must never be parked for ever), a 422's free-text "problem" (which can
quote the rejected value, i.e. a person's name) is reduced to field names, and a body's media type is
named without ever quoting the body.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

DEFAULT_RETRY_AFTER_S = 5.0
MAX_RETRY_AFTER_S = 300.0
# OAuth error codes (RFC 6749 5.2) are a closed vocabulary: safe to repeat in a message.
OAUTH_ERRORS = {
    "invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
    "unsupported_grant_type", "invalid_scope", "invalid_token", "insufficient_scope",
}  # fmt: skip
_SAFE_TEXT = re.compile(r"[^A-Za-z0-9_.:\-\[\] ]")
# A field name as templates spell them: an identifier, optionally dotted or indexed. Anything else
# (spaces, quotes, '@') may be a value the provider echoed back, and is not repeated.
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]{0,62}(?:(?:\.[A-Za-z_][A-Za-z0-9_\-]{0,62})|\[\d{1,4}\]){0,6}")
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+\-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+\-]{0,63}")
# Media types a PDF download may carry (the %PDF- magic is checked as well, while spooling).
PDF_MEDIA_TYPES = {"application/pdf", "application/x-pdf", "application/octet-stream", "binary/octet-stream"}


def safe_text(text: Any, limit: int = 80) -> str:
    """A short printable rendering of a provider-supplied identifier (document id, status, code)."""
    return _SAFE_TEXT.sub("?", str(text))[:limit]


def parse_retry_after(
    value: str | None,
    default: float = DEFAULT_RETRY_AFTER_S,
    now: datetime | None = None,
    maximum: float = MAX_RETRY_AFTER_S,
) -> float:
    """Seconds to wait from a ``Retry-After`` header, delta-seconds or an HTTP-date, in ``[0, maximum]``.

    Unparseable, negative or NaN values give ``default`` (also clamped); a huge number or a date far in
    the future gives ``maximum``; a date in the past gives 0."""
    default = min(max(0.0, default), maximum)
    if not value or len(value) > 64:
        return default
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        seconds = _seconds_until(value, now)
        if seconds is None:
            return default
        return min(max(0.0, seconds), maximum)
    if math.isnan(seconds) or seconds < 0:
        return default
    return min(seconds, maximum)  # inf and 1e300 included


def _seconds_until(value: str, now: datetime | None) -> float | None:
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    try:
        return (when - (now or datetime.now(timezone.utc))).total_seconds()
    except OverflowError:
        return None


def oauth_code(body: Any) -> str:
    """`` invalid_client`` (with a leading space) when the body names a standard OAuth error, else ''."""
    code = body.get("error") if isinstance(body, dict) else None
    return f" {code}" if code in OAUTH_ERRORS else ""


def problem_fields(body: Any) -> tuple[list[str], int]:
    """Field names from a 422 ``{"fields": [{"name": ..., "problem": ...}]}`` body, and how many entries
    had no usable name. The free-text ``problem`` is never kept: it can quote the rejected value."""
    problems = body.get("fields") if isinstance(body, dict) else None
    names: list[str] = []
    unnamed = 0
    for item in problems if isinstance(problems, list) else []:
        name = item.get("name") if isinstance(item, dict) else None
        if isinstance(name, str) and _FIELD_NAME.fullmatch(name):
            if name not in names:
                names.append(name)
        else:
            unnamed += 1
    return names, unnamed


def field_names(names: object) -> list[str]:
    """The identifier-like entries of ``names`` (deduplicated, in order); anything else is dropped."""
    kept: list[str] = []
    for name in names if isinstance(names, (list, tuple)) else []:
        if isinstance(name, str) and _FIELD_NAME.fullmatch(name) and name not in kept:
            kept.append(name)
    return kept


def media_type(content_type: str | None) -> str:
    """The bare media type of a ``Content-Type`` header (``text/html``), or a placeholder; never more."""
    if not content_type:
        return "(none)"
    bare = content_type.split(";", 1)[0].strip().lower()
    return bare if _MEDIA_TYPE.fullmatch(bare) else "(unreadable)"


def is_pdf_media_type(content_type: str | None) -> bool:
    """Whether a download's ``Content-Type`` may be a PDF (missing counts: the magic decides)."""
    return not content_type or media_type(content_type) in PDF_MEDIA_TYPES
