"""What the upload task needs from a document management system.

Adapters: ``filesystem.py`` (default for ``make run``), ``http.py`` (generic multipart upload, seed 000),
``s3.py`` (S3-compatible object store). Each is idempotent by ``document_key``: storing a key that
already exists returns the existing document instead of writing a second one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class StoredDocument:
    document_key: str
    # Where an operator finds it: a path, a URL or an s3:// URI.
    location: str
    size: int
    sha256: str
    # True when this call found the document already stored (a retried job).
    already_existed: bool = False


class DmsError(Exception):
    """A DMS failure; ``str(error)`` is operator-readable and free of document contents."""


class DmsUnavailable(DmsError):
    """Transient: retry with back-off."""


class DmsRejected(DmsError):
    """The DMS refused the upload (4xx other than 408/429): needs an operator."""


@runtime_checkable
class DmsAdapter(Protocol):
    name: str

    async def find(self, document_key: str) -> StoredDocument | None: ...

    async def store(
        self,
        document_key: str,
        filename: str,
        content_path: Path,
        content_type: str,
        metadata: dict[str, str],
    ) -> StoredDocument:
        """Upload the file at ``content_path`` (already size-capped and hashed by the caller's spool)."""
