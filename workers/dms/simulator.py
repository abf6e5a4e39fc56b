"""A small, faithful simulator of the HTTP DMS API used by ``workers.dms.http`` (tests and demos).

Routes:

* ``POST /api/upload`` — ``multipart/form-data`` with ``file`` (the document) and ``metadata`` (a JSON
  object as a string, with ``document_key``). 201 ``{"id", "document_key", "location", "sha256", "size"}``;
  409 ``{"error": "duplicate_document_key", ...}`` when the key is already stored; 400 on a malformed
  upload; 413 past ``max_bytes``.
* ``GET /api/documents?document_key=K`` — 200 ``{"documents": [...]}`` (zero or one entry).
* ``GET /api/documents/{id}`` — the stored record; ``GET /api/documents/{id}/content`` — the bytes.

With ``token`` set, every route wants ``Authorization: Bearer <token>`` (401 otherwise).
``app.state.fail_next`` is a list of HTTP statuses answered (and consumed) before any real handling,
for fault tests. Multipart is parsed with the standard library (no extra dependency); whole bodies are
read into memory, which is fine for a simulator.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import datetime, timezone
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from workers.dms._keys import check_document_key, safe_filename
from workers.dms.base import DmsRejected


def _error(status: int, error: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": error, **extra}, status_code=status)


def _parse_multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, str | None, bytes]]:
    """name -> (filename, content type, bytes)."""
    message = BytesParser(policy=policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise ValueError("not multipart")
    parts: dict[str, tuple[str | None, str | None, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True) or b""
        ctype = part.get_content_type() if part.get("content-type") else None
        parts[str(name)] = (part.get_filename(), ctype, payload)
    return parts


class _Store:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.records: dict[str, dict[str, Any]] = {}
        self.by_key: dict[str, str] = {}
        for meta in directory.glob("*/record.json"):  # survive restarts of a demo
            record = json.loads(meta.read_text("utf-8"))
            self.records[record["id"]] = record
            self.by_key[record["document_key"]] = record["id"]

    def public(self, record: dict[str, Any], request: Request) -> dict[str, Any]:
        location = str(request.url_for("document", doc_id=record["id"]))
        return {
            "id": record["id"],
            "document_key": record["document_key"],
            "filename": record["filename"],
            "location": location,
            "sha256": record["sha256"],
            "size": record["size"],
            "stored_at": record["stored_at"],
        }


def create_dms_app(storage_dir: Path, token: str | None = None, max_bytes: int = 50 * 1024 * 1024) -> Starlette:
    store = _Store(Path(storage_dir))

    def authorised(request: Request) -> bool:
        if token is None:
            return True
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())

    async def guard(request: Request) -> Response | None:
        fail_next: list[int] = request.app.state.fail_next
        if fail_next:
            return _error(fail_next.pop(0), "injected_fault")
        if not authorised(request):
            return _error(401, "unauthorized")
        return None

    async def upload(request: Request) -> Response:
        if (answer := await guard(request)) is not None:
            return answer
        content_type = request.headers.get("content-type", "")
        if not content_type.lower().startswith("multipart/form-data"):
            return _error(400, "expected_multipart")
        body = await request.body()
        if len(body) > max_bytes:
            return _error(413, "too_large", max_bytes=max_bytes)
        try:
            parts = _parse_multipart(content_type, body)
        except (ValueError, UnicodeError):
            return _error(400, "malformed_multipart")
        if "file" not in parts or parts["file"][0] is None:
            return _error(400, "missing_file")
        if "metadata" not in parts:
            return _error(400, "missing_metadata")
        try:
            metadata = json.loads(parts["metadata"][2].decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return _error(400, "invalid_metadata")
        if not isinstance(metadata, dict) or not isinstance(metadata.get("document_key"), str):
            return _error(400, "invalid_metadata", detail="metadata must be a JSON object with document_key")
        key = metadata["document_key"]
        try:
            check_document_key(key)
            filename = safe_filename(parts["file"][0] or "document")
        except DmsRejected:
            return _error(400, "invalid_name")
        if key in store.by_key:
            existing = store.records[store.by_key[key]]
            return _error(409, "duplicate_document_key", document=store.public(existing, request))
        content = parts["file"][2]
        doc_id = "dms_" + uuid.uuid4().hex[:16]
        folder = store.directory / doc_id
        folder.mkdir()
        (folder / filename).write_bytes(content)
        record = {
            "id": doc_id,
            "document_key": key,
            "filename": filename,
            "content_type": parts["file"][1] or "application/octet-stream",
            "sha256": hashlib.sha256(content).hexdigest(),
            "size": len(content),
            "stored_at": datetime.now(timezone.utc).isoformat(),
            "metadata": metadata,
        }
        (folder / "record.json").write_text(json.dumps(record, ensure_ascii=False), "utf-8")
        store.records[doc_id] = record
        store.by_key[key] = doc_id
        return JSONResponse(store.public(record, request), status_code=201)

    async def list_documents(request: Request) -> Response:
        if (answer := await guard(request)) is not None:
            return answer
        key = request.query_params.get("document_key")
        if key is None:
            records = list(store.records.values())
        else:
            doc_id = store.by_key.get(key)
            records = [store.records[doc_id]] if doc_id else []
        return JSONResponse({"documents": [store.public(r, request) for r in records]})

    async def get_document(request: Request) -> Response:
        if (answer := await guard(request)) is not None:
            return answer
        record = store.records.get(request.path_params["doc_id"])
        if record is None:
            return _error(404, "not_found")
        return JSONResponse({**store.public(record, request), "metadata": record["metadata"]})

    async def content(request: Request) -> Response:
        if (answer := await guard(request)) is not None:
            return answer
        record = store.records.get(request.path_params["doc_id"])
        if record is None:
            return _error(404, "not_found")
        path = store.directory / record["id"] / record["filename"]
        return FileResponse(path, media_type=record["content_type"], filename=record["filename"])

    app = Starlette(
        routes=[
            Route("/api/upload", upload, methods=["POST"]),
            Route("/api/documents", list_documents, methods=["GET"]),
            Route("/api/documents/{doc_id}", get_document, methods=["GET"], name="document"),
            Route("/api/documents/{doc_id}/content", content, methods=["GET"], name="content"),
        ]
    )
    app.state.fail_next = []
    app.state.store = store
    return app
