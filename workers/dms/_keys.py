"""Document keys and file names as they may appear in a path or an object key."""

from __future__ import annotations

import re

from workers.dms.base import DmsRejected

_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]")
RESERVED_NAMES = {"metadata.json"}


def check_document_key(document_key: str) -> str:
    """Return the key if it is one safe path segment (letters, digits, ``._-``, no leading dot, no
    ``..``, at most 200 characters); otherwise raise ``DmsRejected``. Keys are refused rather than
    rewritten: two different keys must never map onto one stored document."""
    if not isinstance(document_key, str) or not _KEY.fullmatch(document_key) or ".." in document_key:
        shown = repr(document_key[:40]) if isinstance(document_key, str) else type(document_key).__name__
        raise DmsRejected(
            f"document key {shown} is not a safe name (letters, digits, '.', '_', '-'; no leading dot, no '..')"
        )
    return document_key


def safe_filename(filename: str) -> str:
    """The last path segment of ``filename`` with unsafe characters replaced by ``_``."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_NAME_CHARS.sub("_", name).lstrip(".")[:200]
    if not name or name in RESERVED_NAMES or name.endswith(".metadata.json"):
        raise DmsRejected(f"file name {filename[:40]!r} cannot be used")
    return name
