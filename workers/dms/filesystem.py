"""A DMS on the local file system (the default for ``make run``).

Layout: ``<root>/<document_key>/<filename>`` and ``<root>/<document_key>/metadata.json`` (the metadata
given to ``store`` — already pruned of personal data by the caller — plus filename, content type,
sha256, size and stored_at).

Crash safety: the document is copied to a temporary name, fsynced and renamed into place; then
``metadata.json`` is written the same way. ``metadata.json`` is the completion marker: a folder without
it (a crash between the two renames) is not a stored document, and the next ``store`` overwrites it.
A found document whose file is missing or has the wrong size is treated as not stored either.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import anyio

from workers.dms._keys import check_document_key, safe_filename
from workers.dms.base import DmsError, DmsRejected, DmsUnavailable, StoredDocument

METADATA_FILE = "metadata.json"
_CHUNK = 1024 * 1024


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # not supported everywhere (e.g. Windows); the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _atomic_write(target: Path, write: Any) -> None:
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


class FilesystemDms:
    name = "filesystem"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _folder(self, document_key: str) -> Path:
        folder = self.root / check_document_key(document_key)
        # Belt and braces: the folder must be a direct child of the root.
        if folder.resolve().parent != self.root.resolve():
            raise DmsRejected(f"document key {document_key[:40]!r} escapes the DMS root")
        return folder

    def _find_sync(self, document_key: str) -> StoredDocument | None:
        folder = self._folder(document_key)
        try:
            info = json.loads((folder / METADATA_FILE).read_text("utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return None  # unreadable marker: not a complete document; a new store replaces it
        try:
            path = folder / safe_filename(str(info["filename"]))
            size = int(info["size"])
            sha256 = str(info["sha256"])
        except (KeyError, TypeError, ValueError, DmsError):
            return None
        try:
            if path.stat().st_size != size:
                return None
        except FileNotFoundError:
            return None
        return StoredDocument(document_key, str(path), size, sha256, already_existed=True)

    def _store_sync(
        self, document_key: str, filename: str, content_path: Path, content_type: str, metadata: dict[str, str]
    ) -> StoredDocument:
        existing = self._find_sync(document_key)
        if existing is not None:
            return existing
        name = safe_filename(filename)
        folder = self._folder(document_key)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name
        digest = hashlib.sha256()
        size = 0

        def copy(out: Any) -> None:
            nonlocal size
            with open(content_path, "rb") as src:
                while chunk := src.read(_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)

        _atomic_write(target, copy)
        info = {
            "document_key": document_key,
            "filename": name,
            "content_type": content_type,
            "sha256": digest.hexdigest(),
            "size": size,
            "stored_at": datetime.now(timezone.utc).isoformat(),
            "metadata": dict(metadata),
        }
        payload = json.dumps(info, indent=2, ensure_ascii=False, sort_keys=True).encode("utf-8")
        _atomic_write(folder / METADATA_FILE, lambda out: out.write(payload))
        _fsync_dir(folder)
        return StoredDocument(document_key, str(target), size, info["sha256"], already_existed=False)

    async def find(self, document_key: str) -> StoredDocument | None:
        try:
            return await anyio.to_thread.run_sync(self._find_sync, document_key)
        except OSError as exc:
            raise DmsUnavailable(f"file system DMS at {self.root} unreadable: {exc.strerror or type(exc).__name__}") from None

    async def store(
        self,
        document_key: str,
        filename: str,
        content_path: Path,
        content_type: str,
        metadata: dict[str, str],
    ) -> StoredDocument:
        try:
            return await anyio.to_thread.run_sync(
                self._store_sync, document_key, filename, Path(content_path), content_type, metadata
            )
        except OSError as exc:
            # Disk full, permissions, a vanished mount: an operator may fix it, a retry may then succeed.
            raise DmsUnavailable(
                f"file system DMS at {self.root} could not store document {document_key[:40]!r}: "
                f"{exc.strerror or type(exc).__name__}"
            ) from None
