from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from .support import SETTINGS, Sandbox


async def _ready_document(sandbox: Sandbox) -> tuple[str, str]:
    token = await sandbox.token()
    doc_id = (await sandbox.generate(token)).json()["doc_id"]
    await sandbox.wait_ready(doc_id)
    url = (await sandbox.document(token, doc_id)).json()["download_url"]
    return doc_id, url


async def test_signed_url_downloads_without_a_token(sandbox: Sandbox) -> None:
    _, url = await _ready_document(sandbox)
    response = await sandbox.client.get(url)
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")
    query = parse_qs(urlsplit(url).query)
    assert int(query["expires"][0]) <= int(sandbox.clock()) + SETTINGS.download_url_ttl_s
    assert len(query["signature"][0]) == 64


async def test_tampered_signature_or_document_is_403(sandbox: Sandbox) -> None:
    doc_id, url = await _ready_document(sandbox)
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    sig, expires = query["signature"][0], query["expires"][0]
    flipped = ("0" if sig[0] != "0" else "1") + sig[1:]
    cases = [
        f"{parts.path}?expires={expires}&signature={flipped}",
        f"{parts.path}?expires={int(expires) + 3600}&signature={sig}",  # extending the expiry breaks the MAC
        f"/v1/documents/doc_other/download?expires={expires}&signature={sig}",
        f"{parts.path}?expires={expires}",
        parts.path,
    ]
    for case in cases:
        response = await sandbox.client.get(case)
        assert response.status_code == 403, case
        assert response.json()["error"] == "invalid_signature"


async def test_expired_url_is_403(sandbox: Sandbox) -> None:
    _, url = await _ready_document(sandbox)
    sandbox.clock.advance(SETTINGS.download_url_ttl_s + 1)
    response = await sandbox.client.get(url)
    assert response.status_code == 403
    assert response.json()["error_description"] == "expired"


async def test_not_ready_is_409(sandbox: Sandbox) -> None:
    await sandbox.faults(webhook_delay_s=30)
    token = await sandbox.token()
    doc_id = (await sandbox.generate(token)).json()["doc_id"]
    doc = (await sandbox.document(token, doc_id)).json()
    assert doc["status"] == "processing" and doc["download_url"] is None
    expires = int(sandbox.clock()) + 60
    signature = sandbox.state.download_signature(doc_id, expires)
    response = await sandbox.client.get(f"/v1/documents/{doc_id}/download?expires={expires}&signature={signature}")
    assert response.status_code == 409
