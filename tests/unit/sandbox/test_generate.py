from __future__ import annotations

import io

import pypdf

from .support import Sandbox, bearer, nda_data


async def test_generate_renders_a_real_pdf_and_becomes_ready(sandbox: Sandbox) -> None:
    token = await sandbox.token("generate:nda-001 documents:read")
    response = await sandbox.generate(token, nda_data(employee_name="Zoë Łukasiewicz"), key="pi-1:generate")
    assert response.status_code == 202
    accepted = response.json()
    assert accepted["status"] == "processing"
    assert accepted["download_url"] is None
    assert accepted["doc_id"].startswith("doc_")

    await sandbox.wait_ready(accepted["doc_id"])
    doc = (await sandbox.document(token, accepted["doc_id"])).json()
    assert doc["status"] == "ready"
    assert doc["template_id"] == "nda-001" and doc["template_version"] == "3"
    assert doc["metadata"]["request_id"] == "req-42"
    assert doc["download_url"].startswith("http://sandbox.test/v1/documents/" + accepted["doc_id"] + "/download?")

    pdf = await sandbox.client.get(doc["download_url"])
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Zoë Łukasiewicz" in text
    assert "nda-001" in text and "version 3" in text
    assert "req-42" in text and "ada@example.com" in text
    assert sandbox.state.counters["documents_created"] == 1
    assert sandbox.state.counters["downloads"] == 1


async def test_least_privilege_scopes(sandbox: Sandbox) -> None:
    nda_only = await sandbox.token("generate:nda-001")
    response = await sandbox.generate(nda_only, {"controller_name": "x"}, template_id="dpa-001")
    assert response.status_code == 403
    assert response.json() == {"error": "insufficient_scope", "scope": "generate:dpa-001"}
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]

    created = await sandbox.generate(nda_only)
    assert created.status_code == 202
    # generating does not grant reading
    assert (await sandbox.document(nda_only, created.json()["doc_id"])).status_code == 403
    listing = await sandbox.client.get("/v1/documents", headers=bearer(nda_only))
    assert listing.status_code == 403

    reader = await sandbox.token("documents:read")
    assert (await sandbox.generate(reader)).status_code == 403
    assert (await sandbox.document(reader, created.json()["doc_id"])).status_code == 200

    wildcard = await sandbox.token("generate:*")
    dpa = {
        "controller_name": "ACME",
        "processor_name": "Proc Ltd",
        "contact_email": "dpo@acme.example",
        "effective_date": "2025-01-31",
    }
    response = await sandbox.generate(wildcard, dpa, template_id="dpa-001", metadata={"request_id": "r-dpa"})
    assert response.status_code == 202, response.text


async def test_validation_names_the_fields(sandbox: Sandbox) -> None:
    token = await sandbox.token()
    data = nda_data(start_date="next monday", favourite_colour="blue")
    del data["employee_email"]
    response = await sandbox.generate(token, data)
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation_failed"
    assert {(f["name"], f["problem"]) for f in body["fields"]} == {
        ("employee_email", "missing"),
        ("start_date", "invalid_type"),
        ("favourite_colour", "unknown"),
    }
    assert sandbox.state.documents == {}

    optional_missing = nda_data()
    del optional_missing["confidentiality_level"]
    assert (await sandbox.generate(token, optional_missing)).status_code == 202

    wrong_type = await sandbox.generate(token, nda_data(employee_name=42))
    assert wrong_type.json()["fields"] == [{"name": "employee_name", "problem": "invalid_type"}]


async def test_template_version_must_match(sandbox: Sandbox) -> None:
    token = await sandbox.token()
    response = await sandbox.generate(token, metadata={"request_id": "r", "template_version": "2"})
    assert response.status_code == 422
    assert response.json()["fields"] == [
        {"name": "metadata.template_version", "problem": "version_mismatch", "expected": "3"}
    ]


async def test_unknown_template_and_bad_bodies(sandbox: Sandbox) -> None:
    token = await sandbox.token()
    assert (await sandbox.generate(token, template_id="nope-001")).status_code == 404
    assert (await sandbox.generate(token, template_id="nope-001")).json() == {"error": "template_not_found"}
    response = await sandbox.client.post("/v1/generate", content=b"{not json", headers=bearer(token))
    assert response.status_code == 400
    response = await sandbox.generate(token, callback_url="ftp://nowhere")
    assert response.json()["fields"] == [{"name": "callback_url", "problem": "invalid_type"}]


async def test_idempotency_key_returns_the_same_document(sandbox: Sandbox) -> None:
    token = await sandbox.token()
    first = await sandbox.generate(token, key="2251799813685249:generate")
    assert first.status_code == 202
    again = await sandbox.generate(token, key="2251799813685249:generate")
    assert again.status_code == 200
    assert again.json()["doc_id"] == first.json()["doc_id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert sandbox.state.counters["documents_created"] == 1
    assert sandbox.state.counters["generate_calls"] == 2

    different = await sandbox.generate(token, nda_data(employee_name="Someone Else"), key="2251799813685249:generate")
    assert different.status_code == 409
    assert different.json()["error"] == "idempotency_key_reused"

    other_key = await sandbox.generate(token, key="another")
    assert other_key.status_code == 202 and other_key.json()["doc_id"] != first.json()["doc_id"]

    found = await sandbox.client.get(
        "/v1/documents", params={"idempotency_key": "2251799813685249:generate"}, headers=bearer(token)
    )
    assert [d["doc_id"] for d in found.json()["documents"]] == [first.json()["doc_id"]]
    none = await sandbox.client.get("/v1/documents", params={"idempotency_key": "never"}, headers=bearer(token))
    assert none.json() == {"documents": []}


async def test_unknown_document_is_404(sandbox: Sandbox) -> None:
    token = await sandbox.token()
    response = await sandbox.document(token, "doc_missing")
    assert response.status_code == 404
    assert response.json() == {"error": "document_not_found"}
