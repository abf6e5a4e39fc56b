"""A generic HTTP DMS (seed 000, "Upload to DMS"): multipart upload, idempotent by document key.

API (see ``workers.dms.simulator`` for a faithful local implementation):

* ``GET {base}/api/documents?document_key=K`` -> 200 ``{"documents": [{"id", "location", "sha256", "size"}]}``
* ``POST {base}/api/upload`` multipart ``file`` + ``metadata`` (a JSON string including ``document_key``)
  -> 201 ``{"id", "document_key", "location", "sha256", "size"}``; 409 when the key is already stored.

``store`` asks first and uploads only when the key is unknown; a 409 (another worker won the race) is
answered by looking the document up again. 5xx, 408, 429, timeouts and connection errors are
``DmsUnavailable`` (retry); other 4xx are ``DmsRejected``. Messages never quote bodies or the token.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx
from pydantic import SecretStr

from workers.dms._keys import check_document_key, safe_filename
from workers.dms.base import DmsRejected, DmsUnavailable, StoredDocument


def _sha256_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as src:
        while chunk := src.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


class HttpDms:
    name = "http"

    def __init__(
        self,
        base_url: str,
        client: httpx.AsyncClient,
        token: SecretStr | None = None,
        *,
        owns_client: bool = False,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client
        self._token = token
        self._owns_client = owns_client
        parts = urlsplit(self.base_url)
        self._host = (parts.hostname or "?") + (f":{parts.port}" if parts.port else "")

    async def aclose(self) -> None:
        if self._owns_client:
            await self.client.aclose()

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self._token is not None:
            headers["Authorization"] = f"Bearer {self._token.get_secret_value()}"
        return headers

    def _where(self, method: str, url: str) -> str:
        return f"{method} {urlsplit(url).path}"

    async def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self.client.request(method, url, headers=self._headers(), **kwargs)
        except httpx.TimeoutException:
            raise DmsUnavailable(f"DMS at {self._host} timed out on {self._where(method, url)}") from None
        except httpx.ConnectError as exc:
            what = "connection refused" if "refused" in str(exc).lower() else "could not connect"
            raise DmsUnavailable(f"DMS at {self._host} unavailable: {what} on {self._where(method, url)}") from None
        except httpx.TransportError as exc:
            raise DmsUnavailable(
                f"DMS at {self._host} unavailable: connection failed ({type(exc).__name__}) on {self._where(method, url)}"
            ) from None

    def _fail(self, response: httpx.Response, method: str, url: str) -> None:
        status = response.status_code
        where = self._where(method, url)
        if status >= 500 or status in (408, 429):
            raise DmsUnavailable(f"DMS at {self._host} unavailable: HTTP {status} on {where}")
        if status in (401, 403):
            raise DmsRejected(f"DMS at {self._host} refused our credentials (HTTP {status} on {where}); check DMS_TOKEN")
        raise DmsRejected(f"DMS at {self._host} refused {where} (HTTP {status})")

    @staticmethod
    def _stored(item: Any, document_key: str, already_existed: bool) -> StoredDocument | None:
        if not isinstance(item, dict):
            return None
        try:
            return StoredDocument(
                document_key=document_key,
                location=str(item["location"]),
                size=int(item["size"]),
                sha256=str(item["sha256"]),
                already_existed=already_existed,
            )
        except (KeyError, TypeError, ValueError):
            return None

    async def find(self, document_key: str) -> StoredDocument | None:
        check_document_key(document_key)
        url = f"{self.base_url}/api/documents"
        response = await self._request("GET", url, params={"document_key": document_key})
        if response.status_code != 200:
            self._fail(response, "GET", url)
        try:
            documents = response.json()["documents"]
        except (ValueError, KeyError, TypeError):
            raise DmsUnavailable(f"DMS at {self._host} gave an unreadable answer to GET /api/documents") from None
        if not isinstance(documents, list) or not documents:
            return None
        stored = self._stored(documents[0], document_key, True)
        if stored is None:
            raise DmsUnavailable(f"DMS at {self._host} gave an unreadable answer to GET /api/documents")
        return stored

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
        name = safe_filename(filename)
        sha256, size = await anyio.to_thread.run_sync(_sha256_file, Path(content_path))
        url = f"{self.base_url}/api/upload"
        meta = json.dumps({**metadata, "document_key": document_key}, ensure_ascii=False)
        content = await anyio.to_thread.run_sync(Path(content_path).read_bytes)
        response = await self._request(
            "POST", url, files={"file": (name, content, content_type)}, data={"metadata": meta}
        )
        if response.status_code == 409:
            existing = await self.find(document_key)
            if existing is not None:
                return existing
        if response.status_code not in (200, 201):
            self._fail(response, "POST", url)
        try:
            stored = self._stored(response.json(), document_key, False)
        except ValueError:
            stored = None
        if stored is None:
            raise DmsUnavailable(f"DMS at {self._host} gave an unreadable answer to POST /api/upload")
        if stored.sha256 != sha256 or stored.size != size:
            raise DmsUnavailable(
                f"DMS at {self._host} reports a different checksum or size for document {document_key!r} "
                "than was uploaded; the upload may have been corrupted"
            )
        return stored
