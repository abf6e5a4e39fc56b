"""Fault knobs for answers that are wrong in shape rather than status (used by ``state`` and ``app``):

* ``trickle_next`` — the next ``count`` API answers (paths starting with ``path_prefix``) are sent
  ``chunk_bytes`` at a time, ``interval_s`` apart: every read is quick, the whole answer is slow (what
  stretched a 1 s per-read timeout to 9 s);
* ``bad_download_next`` — the next ``count`` downloads answer 200 with an HTML login page under
  ``content_type`` (``text/html`` by default; ``application/pdf`` makes a lying header, caught by the magic);
* ``rate_limit_next.header`` — a raw ``Retry-After`` value (``"1e300"``, an HTTP-date in the year 9999).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from starlette.types import Message, Send

LOGIN_PAGE = (
    b"<!DOCTYPE html><html><head><title>Sign in</title></head><body><form action=\"/login\">"
    b"<input name=\"user\"><input name=\"password\" type=\"password\"></form></body></html>"
)


@dataclass
class TrickleRule:
    count: int = 1
    chunk_bytes: int = 16
    interval_s: float = 0.2
    path_prefix: str = ""


@dataclass
class BadDownloadRule:
    count: int = 1
    content_type: str = "text/html; charset=utf-8"


def _positive(name: str, value: Any, kind: type, minimum: float) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise ValueError(f"{name} must be a number >= {minimum}")
    if kind is int and not isinstance(value, int):
        raise ValueError(f"{name} must be an integer >= {minimum}")
    return kind(value)


def _fields(name: str, value: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be an object or null")
    unknown = set(value) - allowed
    if unknown:
        raise ValueError(f"{name} has unknown keys: {', '.join(sorted(unknown))}")
    return value


def parse_trickle(value: Any) -> TrickleRule | None:
    if value is None:
        return None
    spec = _fields("trickle_next", value, {"count", "chunk_bytes", "interval_s", "path_prefix"})
    prefix = spec.get("path_prefix", "") or ""
    if not isinstance(prefix, str):
        raise ValueError("trickle_next.path_prefix must be a string")
    return TrickleRule(
        _positive("trickle_next.count", spec.get("count", 1), int, 0),
        _positive("trickle_next.chunk_bytes", spec.get("chunk_bytes", 16), int, 1),
        _positive("trickle_next.interval_s", spec.get("interval_s", 0.2), float, 0),
        prefix,
    )


def parse_bad_download(value: Any) -> BadDownloadRule | None:
    if value is None:
        return None
    spec = _fields("bad_download_next", value, {"count", "content_type"})
    content_type = spec.get("content_type", BadDownloadRule.content_type)
    if not isinstance(content_type, str) or not content_type or len(content_type) > 200:
        raise ValueError("bad_download_next.content_type must be a non-empty string")
    return BadDownloadRule(_positive("bad_download_next.count", spec.get("count", 1), int, 0), content_type)


def parse_retry_after_header(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > 200 or not value.isprintable():
        raise ValueError("rate_limit_next.header must be a short printable string")
    return value


def take(rule: Any) -> bool:
    """Use up one count of ``rule``; False when it has none left."""
    if rule is None or rule.count <= 0:
        return False
    rule.count -= 1
    return True


def trickling(send: Send, rule: TrickleRule) -> Send:
    """A ``send`` that splits every body message into ``chunk_bytes`` pieces, ``interval_s`` apart."""

    async def slow_send(message: Message) -> None:
        if message["type"] != "http.response.body":
            await send(message)
            return
        body: bytes = message.get("body", b"")
        more = message.get("more_body", False)
        pieces = [body[i : i + rule.chunk_bytes] for i in range(0, len(body), rule.chunk_bytes)] or [b""]
        for n, piece in enumerate(pieces):
            if n:
                await asyncio.sleep(rule.interval_s)
            await send({"type": "http.response.body", "body": piece, "more_body": more or n < len(pieces) - 1})

    return slow_send
