from __future__ import annotations

import base64
from urllib.parse import quote_plus

from .support import CLIENT_ID, CLIENT_SECRET, SETTINGS, Sandbox, bearer


def _form(**extra: str) -> dict[str, str]:
    return {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **extra}


async def test_client_credentials_grant_issues_a_bearer_token(sandbox: Sandbox) -> None:
    response = await sandbox.client.post("/oauth/token", data=_form())
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == SETTINGS.token_ttl_s
    assert body["scope"].split() == ["generate:*", "documents:read"]  # nothing requested -> everything
    assert len(body["access_token"]) >= 32
    assert response.headers["cache-control"] == "no-store"
    second = (await sandbox.client.post("/oauth/token", data=_form())).json()["access_token"]
    assert second != body["access_token"]  # opaque and random
    assert sandbox.state.counters["token_requests"] == 2


async def test_http_basic_client_authentication(sandbox: Sandbox) -> None:
    creds = base64.b64encode(f"{quote_plus(CLIENT_ID)}:{quote_plus(CLIENT_SECRET)}".encode()).decode()
    response = await sandbox.client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "documents:read"},
        headers={"Authorization": f"Basic {creds}"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "documents:read"


async def test_wrong_credentials_are_refused(sandbox: Sandbox) -> None:
    for form in (_form(client_secret="nope"), _form(client_id="someone-else"), {"grant_type": "client_credentials"}):
        response = await sandbox.client.post("/oauth/token", data=form)
        assert response.status_code == 401
        assert response.json() == {"error": "invalid_client"}
    bad_basic = base64.b64encode(f"{CLIENT_ID}:wrong".encode()).decode()
    response = await sandbox.client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {bad_basic}"}
    )
    assert response.status_code == 401
    assert sandbox.state.tokens == {}


async def test_other_grant_types_are_unsupported(sandbox: Sandbox) -> None:
    response = await sandbox.client.post("/oauth/token", data=_form(grant_type="password"))
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


async def test_scopes_outside_the_catalogue_are_refused(sandbox: Sandbox) -> None:
    for scope in ("admin", "generate:no-such-template", "documents:write", "generate:nda-001 documents:delete"):
        response = await sandbox.client.post("/oauth/token", data=_form(scope=scope))
        assert response.status_code == 400, scope
        assert response.json()["error"] == "invalid_scope"
    ok = await sandbox.client.post("/oauth/token", data=_form(scope="generate:nda-001 documents:read generate:nda-001"))
    assert ok.json()["scope"] == "generate:nda-001 documents:read"


async def test_missing_or_unknown_bearer_is_401(sandbox: Sandbox) -> None:
    response = await sandbox.client.get("/v1/templates/nda-001")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    response = await sandbox.client.get("/v1/templates/nda-001", headers=bearer("made-up"))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_tokens_expire(sandbox: Sandbox) -> None:
    token = await sandbox.token()
    assert (await sandbox.client.get("/v1/templates/nda-001", headers=bearer(token))).status_code == 200
    sandbox.clock.advance(SETTINGS.token_ttl_s + 1)
    response = await sandbox.client.get("/v1/templates/nda-001", headers=bearer(token))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert 'Bearer' in response.headers["www-authenticate"] and 'error="invalid_token"' in response.headers["www-authenticate"]
    fresh = await sandbox.token()
    assert (await sandbox.client.get("/v1/templates/nda-001", headers=bearer(fresh))).status_code == 200


async def test_revoke_tokens_knob_forces_a_refetch(sandbox: Sandbox) -> None:
    token = await sandbox.token()
    await sandbox.faults(revoke_tokens=True)
    assert (await sandbox.client.get("/v1/templates/nda-001", headers=bearer(token))).status_code == 401
    fresh = await sandbox.token()
    assert (await sandbox.client.get("/v1/templates/nda-001", headers=bearer(fresh))).status_code == 200
    # and from Python
    sandbox.state.revoke_tokens()
    assert (await sandbox.client.get("/v1/templates/nda-001", headers=bearer(fresh))).status_code == 401
