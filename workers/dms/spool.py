"""Spool a streamed download into a size-capped temporary file, hashing it on the way.

The provider's response is never held in memory and never trusted to be small: past ``max_bytes`` the
download is aborted with ``DocumentTooLarge`` and the partial file is deleted. On any failure (including
cancellation) nothing is left behind; on success the caller owns ``SpooledFile.path`` and deletes it.

The first bytes must be the expected magic (``%PDF-`` by default): a provider that answers 200 with an
HTML login page must not be filed as ``E-1_NDA.pdf``. That is ``NotAPdf``, a ``ProviderBadAnswer``
(retried, an incident when it persists) whose message says what came back, never the content.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import anyio

from workers.dms.base import DmsRejected
from workers.errors import SafeMessage
from workers.providers.base import ProviderBadAnswer

PDF_MAGIC = b"%PDF-"


class DocumentTooLarge(SafeMessage, DmsRejected):
    """The document exceeds the configured cap (``DMS_MAX_DOCUMENT_BYTES``)."""

    def __init__(self, max_bytes: int, received: int) -> None:
        super().__init__(
            f"document is larger than the {max_bytes} byte cap (received {received} bytes so far); "
            "raise DMS_MAX_DOCUMENT_BYTES if such documents are expected"
        )
        self.max_bytes = max_bytes
        self.received = received


class NotAPdf(ProviderBadAnswer):
    """The download does not start with the expected magic bytes."""

    def __init__(self, head: bytes, magic: bytes) -> None:
        super().__init__(
            f"the downloaded document is not a PDF: it starts like {_kind_of(head)}, not with {magic.decode('ascii', 'replace')!r}"
        )


def _kind_of(head: bytes) -> str:
    """What the first bytes look like, in a few words (never the bytes themselves)."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if not text:
        return "an empty answer"
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "an HTML page"
    if text.startswith((b"<?xml", b"<")):
        return "XML or HTML"
    if text.startswith((b"{", b"[")):
        return "JSON"
    return "other data"


@dataclass(frozen=True)
class SpooledFile:
    path: Path
    size: int
    sha256: str


async def spool_download(
    chunks: AsyncIterator[bytes], max_bytes: int, directory: Path | None = None, *, magic: bytes | None = PDF_MAGIC
) -> SpooledFile:
    """Write ``chunks`` to a new temporary file (in ``directory`` or the system temp dir), checking that
    the content starts with ``magic`` (None: no check)."""
    if directory is not None:
        await anyio.to_thread.run_sync(lambda: directory.mkdir(parents=True, exist_ok=True))
    fd, name = tempfile.mkstemp(prefix="contract-", suffix=".part", dir=directory)
    os.close(fd)
    path = Path(name)
    digest = hashlib.sha256()
    size = 0
    head = b""  # the first bytes, until the magic can be checked
    checked = magic is None
    ok = False
    try:
        async with await anyio.open_file(path, "wb") as out:
            async for chunk in chunks:
                if not chunk:
                    continue
                size += len(chunk)
                if size > max_bytes:
                    raise DocumentTooLarge(max_bytes, size)
                if not checked:
                    head += chunk[:64]
                    if len(head) >= len(magic):  # type: ignore[arg-type]
                        if not head.startswith(magic):  # type: ignore[arg-type]
                            raise NotAPdf(head, magic)  # type: ignore[arg-type]
                        checked = True
                digest.update(chunk)
                await out.write(chunk)
        if not checked:
            raise NotAPdf(head, magic)  # type: ignore[arg-type]
        ok = True
        return SpooledFile(path=path, size=size, sha256=digest.hexdigest())
    finally:
        # Stop the producer promptly (closes the HTTP stream) when we leave early.
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()
        if not ok:
            path.unlink(missing_ok=True)
