"""Spool a streamed download into a size-capped temporary file, hashing it on the way.

The provider's response is never held in memory and never trusted to be small: past ``max_bytes`` the
download is aborted with ``DocumentTooLarge`` and the partial file is deleted. On any failure (including
cancellation) nothing is left behind; on success the caller owns ``SpooledFile.path`` and deletes it.
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


class DocumentTooLarge(DmsRejected):
    """The document exceeds the configured cap (``DMS_MAX_DOCUMENT_BYTES``)."""

    def __init__(self, max_bytes: int, received: int) -> None:
        super().__init__(
            f"document is larger than the {max_bytes} byte cap (received {received} bytes so far); "
            "raise DMS_MAX_DOCUMENT_BYTES if such documents are expected"
        )
        self.max_bytes = max_bytes
        self.received = received


@dataclass(frozen=True)
class SpooledFile:
    path: Path
    size: int
    sha256: str


async def spool_download(
    chunks: AsyncIterator[bytes], max_bytes: int, directory: Path | None = None
) -> SpooledFile:
    """Write ``chunks`` to a new temporary file (in ``directory`` or the system temp dir)."""
    if directory is not None:
        await anyio.to_thread.run_sync(lambda: directory.mkdir(parents=True, exist_ok=True))
    fd, name = tempfile.mkstemp(prefix="contract-", suffix=".part", dir=directory)
    os.close(fd)
    path = Path(name)
    digest = hashlib.sha256()
    size = 0
    ok = False
    try:
        async with await anyio.open_file(path, "wb") as out:
            async for chunk in chunks:
                if not chunk:
                    continue
                size += len(chunk)
                if size > max_bytes:
                    raise DocumentTooLarge(max_bytes, size)
                digest.update(chunk)
                await out.write(chunk)
        ok = True
        return SpooledFile(path=path, size=size, sha256=digest.hexdigest())
    finally:
        # Stop the producer promptly (closes the HTTP stream) when we leave early.
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()
        if not ok:
            path.unlink(missing_ok=True)
