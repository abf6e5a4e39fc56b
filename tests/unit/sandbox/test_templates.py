from __future__ import annotations

from .support import Sandbox, bearer
from workers.sandbox.templates import DPA_001, NDA_001, validate


async def test_template_fetch(sandbox: Sandbox) -> None:
    token = await sandbox.token("documents:read")
    response = await sandbox.client.get("/v1/templates/nda-001", headers=bearer(token))
    assert response.status_code == 200
    body = response.json()
    assert body["template_id"] == "nda-001"
    assert body["version"] == "3"
    assert {f["name"]: (f["type"], f["required"]) for f in body["fields"]} == {
        "employee_name": ("string", True),
        "employee_email": ("email", True),
        "start_date": ("date", True),
        "confidentiality_level": ("string", False),
    }
    listed = (await sandbox.client.get("/v1/templates", headers=bearer(token))).json()["templates"]
    assert {t["template_id"] for t in listed} >= {"nda-001", "dpa-001"}


async def test_unknown_template_is_404(sandbox: Sandbox) -> None:
    token = await sandbox.token()
    response = await sandbox.client.get("/v1/templates/nope-404", headers=bearer(token))
    assert response.status_code == 404
    assert response.json() == {"error": "template_not_found"}


def test_validation_covers_every_field_type() -> None:
    good = {
        "controller_name": "ACME",
        "processor_name": "Proc Ltd",
        "contact_email": "dpo@acme.example",
        "effective_date": "2025-01-31",
        "international_transfers": False,
        "retention_days": 30,
    }
    assert validate(DPA_001, good) == []
    bad = dict(good, contact_email="not-an-email", effective_date="31/01/2025", international_transfers="no",
               retention_days=True)
    assert {p["name"]: p["problem"] for p in validate(DPA_001, bad)} == {
        "contact_email": "invalid_type",
        "effective_date": "invalid_type",
        "international_transfers": "invalid_type",
        "retention_days": "invalid_type",
    }
    assert validate(NDA_001, {"employee_name": " ", "employee_email": "a@b.io", "start_date": "2025-02-30"}) == [
        {"name": "employee_name", "problem": "missing"},
        {"name": "start_date", "problem": "invalid_type"},
    ]
