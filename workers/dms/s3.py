"""A DMS on an S3-compatible object store (AWS S3, MinIO, Ceph...). Needs the optional extra ``s3``
(``boto3``); boto3 is blocking, so every call runs in a worker thread (``anyio.to_thread``).

Objects, for ``document_key`` K under ``prefix`` P:

* ``P + K`` — the document, with ``Content-Type``, ``Content-Disposition`` (the file name), an S3-verified
  SHA-256 checksum and ASCII-safe user metadata (``document-key``, ``filename``, ``sha256`` and the given
  metadata; non-ASCII values percent-encoded; entries dropped when S3's 2 KB limit would be exceeded);
* ``P + K + ".metadata.json"`` — the complete metadata (UTF-8), plus sha256, size and stored_at.

The JSON object is written first and the document last: a single PUT is atomic, so the document object
carrying its ``sha256`` user metadata is the completion marker. ``find`` is one ``head_object``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio

from workers.dms._keys import check_document_key, safe_filename
from workers.dms.base import DmsRejected, DmsUnavailable, StoredDocument

USER_METADATA_LIMIT = 2048
_TRANSIENT_CODES = {
    "SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "RequestTimeTooSkewed",
    "InternalError", "ServiceUnavailable", "RequestLimitExceeded",
}  # fmt: skip
_META_KEY_CHARS = re.compile(r"[^a-z0-9-]")


def _ascii_value(value: str) -> str:
    if value.isascii() and value.isprintable():
        return value
    return quote(value, safe=" !#$&'()*+,-./:;=?@[]^_`{|}~")


def user_metadata(document_key: str, filename: str, sha256: str, metadata: dict[str, str]) -> dict[str, str]:
    """S3 user metadata: lower-case ``[a-z0-9-]`` keys, ASCII values, at most 2 KB in total."""
    result = {"document-key": document_key, "filename": filename, "sha256": sha256}
    used = sum(len(k) + len(v) for k, v in result.items())
    for key, value in sorted(metadata.items()):
        name = _META_KEY_CHARS.sub("-", str(key).lower().replace("_", "-")).strip("-")
        if not name or name in result:
            continue
        text = _ascii_value(str(value))
        if used + len(name) + len(text) > USER_METADATA_LIMIT:
            continue  # the .metadata.json object has it all
        result[name] = text
        used += len(name) + len(text)
    return result


class S3Dms:
    name = "s3"

    def __init__(
        self,
        bucket: str,
        prefix: str = "contracts/",
        endpoint_url: str | None = None,
        client: Any = None,
        *,
        timeout_s: float = 30.0,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        self.endpoint_url = endpoint_url
        self.timeout_s = timeout_s
        self._client = client

    # --- boto3 plumbing (runs in worker threads) ---------------------------------------------------

    def _s3(self) -> Any:
        if self._client is None:
            try:
                import boto3
                from botocore.config import Config
            except ImportError:  # pragma: no cover - depends on the installed extras
                raise DmsRejected("DMS_KIND=s3 needs boto3: install contract-workers[s3]") from None
            self._client = boto3.client(
                "s3",
                endpoint_url=self.endpoint_url,
                config=Config(
                    connect_timeout=self.timeout_s,
                    read_timeout=self.timeout_s,
                    retries={"max_attempts": 2, "mode": "standard"},  # Zeebe owns the real retries
                ),
            )
        return self._client

    def _key(self, document_key: str) -> str:
        return self.prefix + check_document_key(document_key)

    def _location(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    async def _run(self, what: str, fn: Any, *args: Any) -> Any:
        try:
            from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, PartialCredentialsError
        except ImportError:  # pragma: no cover - depends on the installed extras
            raise DmsRejected("DMS_KIND=s3 needs boto3: install contract-workers[s3]") from None

        try:
            return await anyio.to_thread.run_sync(fn, *args)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
            where = f"S3 bucket {self.bucket!r} ({what})"
            if status >= 500 or status in (408, 429) or code in _TRANSIENT_CODES:
                raise DmsUnavailable(f"{where} unavailable: {code or 'HTTP ' + str(status)}") from None
            raise DmsRejected(f"{where} refused the request: {code or 'HTTP ' + str(status)}") from None
        except (NoCredentialsError, PartialCredentialsError):
            raise DmsRejected(f"S3 bucket {self.bucket!r} ({what}): no AWS credentials configured") from None
        except BotoCoreError as exc:
            raise DmsUnavailable(f"S3 bucket {self.bucket!r} ({what}) unavailable: {type(exc).__name__}") from None
        except OSError as exc:
            raise DmsUnavailable(f"S3 upload ({what}) failed locally: {exc.strerror or type(exc).__name__}") from None

    def _head(self, key: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        try:
            return self._s3().head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 404 or code in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def _stored(self, document_key: str, key: str, head: dict[str, Any]) -> StoredDocument | None:
        sha256 = (head.get("Metadata") or {}).get("sha256")
        if not sha256:
            return None  # not written by us, or incomplete: not a stored document
        return StoredDocument(document_key, self._location(key), int(head.get("ContentLength", 0)), sha256, True)

    def _put(
        self, key: str, filename: str, content_path: Path, content_type: str, metadata: dict[str, str], document_key: str
    ) -> StoredDocument:
        digest = hashlib.sha256()
        size = 0
        with open(content_path, "rb") as src:
            while chunk := src.read(1024 * 1024):
                digest.update(chunk)
                size += len(chunk)
        sha256 = digest.hexdigest()
        info = {
            "document_key": document_key,
            "filename": filename,
            "content_type": content_type,
            "sha256": sha256,
            "size": size,
            "stored_at": datetime.now(timezone.utc).isoformat(),
            "metadata": dict(metadata),
        }
        s3 = self._s3()
        s3.put_object(
            Bucket=self.bucket,
            Key=key + ".metadata.json",
            Body=json.dumps(info, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8"),
            ContentType="application/json; charset=utf-8",
        )
        with open(content_path, "rb") as body:
            s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentType=content_type,
                ContentLength=size,
                ContentDisposition=f'attachment; filename="{filename}"',
                ChecksumSHA256=base64.b64encode(digest.digest()).decode(),
                Metadata=user_metadata(document_key, filename, sha256, metadata),
            )
        return StoredDocument(document_key, self._location(key), size, sha256, already_existed=False)

    # --- DmsAdapter ----------------------------------------------------------------------------------

    async def find(self, document_key: str) -> StoredDocument | None:
        key = self._key(document_key)
        head = await self._run("head_object", self._head, key)
        return None if head is None else self._stored(document_key, key, head)

    async def store(
        self,
        document_key: str,
        filename: str,
        content_path: Path,
        content_type: str,
        metadata: dict[str, str],
    ) -> StoredDocument:
        existing = await self.find(document_key)
        if existing is not None:
            return existing
        key = self._key(document_key)
        name = safe_filename(filename)
        return await self._run(
            "put_object", self._put, key, name, Path(content_path), content_type, metadata, document_key
        )
