"""Sandbox knobs for wrong-shaped answers (trickle, HTML download, raw Retry-After), and the provider adapter
against each of them, in process (ASGI transport). No wall-clock assertions: a trickle that never finishes
in time meets a short total deadline, whatever the machine's speed."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from workers.dms.spool import NotAPdf, spool_download
from workers.providers.base import ProviderBadAnswer, ProviderRateLimited, ProviderUnavailable
from workers.providers.contractize import ContractizeProvider
from workers.providers.tokens import TokenCache
from workers.sandbox.app import create_app
from workers.sandbox.state import SandboxState

from ..providers.support import settings
from .support import CLIENT_ID, CLIENT_SECRET, SETTINGS, Sandbox


def provider_for(sandbox: Sandbox, **overrides) -> ContractizeProvider:
    values = dict(base_url="http://sandbox.test", client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                  scopes="generate:nda-001 documents:read")  # fmt: skip
    values.update(overrides)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app))
    return ContractizeProvider(settings(**values), client, TokenCache())


async def ready_doc(sandbox: Sandbox) -> str:
    token = await sandbox.token()
    doc_id = (await sandbox.generate(token)).json()["doc_id"]
    await sandbox.wait_ready(doc_id)
    return doc_id


async def raw_body_messages(app, path: str) -> list[bytes]:
    """Call the ASGI app directly and return every body message it sent."""
    sent: list[bytes] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        if message["type"] == "http.response.body":
            sent.append(message.get("body", b""))

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "headers": [], "server": ("t", 80),
             "client": ("c", 1), "root_path": ""}  # fmt: skip
    await app(scope, receive, send)
    return sent


async def test_trickle_splits_the_answer_into_small_pieces() -> None:
    state = SandboxState()
    app = create_app(SETTINGS, state)
    async with app.router.lifespan_context(app):
        whole = b"".join(await raw_body_messages(app, "/v1/templates"))
        state.set_faults({"trickle_next": {"count": 1, "chunk_bytes": 10, "interval_s": 0, "path_prefix": "/v1"}})
        pieces = await raw_body_messages(app, "/v1/templates")
        again = await raw_body_messages(app, "/v1/templates")
    assert b"".join(pieces) == whole
    assert len(pieces) == -(-len(whole) // 10) and all(len(p) <= 10 for p in pieces)
    assert len(again) == 1  # count 1: used up
    assert state.faults.trickle_next is None and state.counters["faults_injected"] == 1


async def test_a_trickling_token_endpoint_meets_the_total_deadline(sandbox: Sandbox) -> None:
    # 4 bytes every 5 s: each read is "quick", the answer would take minutes.
    await sandbox.faults(trickle_next={"chunk_bytes": 4, "interval_s": 5, "path_prefix": "/oauth"})
    provider = provider_for(sandbox, timeout_s=1.0, total_timeout_s=0.3)
    with pytest.raises(ProviderUnavailable) as err:
        await provider.ensure_token()
    assert str(err.value) == (
        "contract provider at sandbox.test unavailable: no complete answer within 0.3s on POST /oauth/token "
        "(total deadline: CONTRACTIZE_TOTAL_TIMEOUT_S, CONTRACTIZE_DOWNLOAD_TIMEOUT_S for downloads)"
    )


async def test_a_trickling_api_call_meets_the_total_deadline(sandbox: Sandbox) -> None:
    provider = provider_for(sandbox, total_timeout_s=0.3)
    await provider.ensure_token()
    await sandbox.faults(trickle_next={"chunk_bytes": 4, "interval_s": 5, "path_prefix": "/v1/templates"})
    with pytest.raises(ProviderUnavailable, match=r"no complete answer within 0.3s on GET /v1/templates/nda-001"):
        await provider.get_template("nda-001")


async def test_a_trickling_download_meets_its_own_deadline(sandbox: Sandbox, tmp_path: Path) -> None:
    doc_id = await ready_doc(sandbox)
    provider = provider_for(sandbox, total_timeout_s=30, download_timeout_s=0.3)
    await sandbox.faults(trickle_next={"chunk_bytes": 64, "interval_s": 5, "path_prefix": f"/v1/documents/{doc_id}/download"})
    with pytest.raises(ProviderUnavailable, match=rf"no complete answer within 0.3s on GET /v1/documents/{doc_id}/download"):
        await spool_download(provider.download(doc_id), 10_000_000, tmp_path)
    assert list(tmp_path.iterdir()) == []


async def test_an_html_login_page_download_is_refused_naming_its_type(sandbox: Sandbox, tmp_path: Path) -> None:
    doc_id = await ready_doc(sandbox)
    provider = provider_for(sandbox)
    await sandbox.faults(bad_download_next={"count": 1})
    with pytest.raises(ProviderBadAnswer) as err:
        await spool_download(provider.download(doc_id), 10_000_000, tmp_path)
    assert f"answered the download of document '{doc_id}' with text/html instead of a PDF" in str(err.value)
    assert "password" not in str(err.value) and "<" not in str(err.value)
    spooled = await spool_download(provider.download(doc_id), 10_000_000, tmp_path)  # count 1: used up
    assert spooled.path.read_bytes().startswith(b"%PDF-")


async def test_an_html_page_sent_as_application_pdf_is_caught_by_the_magic(sandbox: Sandbox, tmp_path: Path) -> None:
    doc_id = await ready_doc(sandbox)
    await sandbox.faults(bad_download_next={"content_type": "application/pdf"})
    with pytest.raises(NotAPdf, match="it starts like an HTML page"):
        await spool_download(provider_for(sandbox).download(doc_id), 10_000_000, tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("header", ["1e300", "Fri, 31 Dec 9999 23:59:59 GMT", "inf", "99999999999999999999"])
async def test_an_absurd_retry_after_is_clamped(sandbox: Sandbox, header: str) -> None:
    await sandbox.faults(rate_limit_next={"count": 1, "header": header})
    response = await sandbox.client.get("/v1/templates")
    assert response.headers["retry-after"] == header  # the knob sends it verbatim
    await sandbox.faults(rate_limit_next={"count": 1, "header": header})
    with pytest.raises(ProviderRateLimited) as err:
        await provider_for(sandbox, retry_after_max_s=120).ensure_token()
    assert err.value.retry_after == 120
    assert "retry after 120s" in str(err.value)


@pytest.mark.parametrize(
    "knobs",
    [
        {"trickle_next": {"chunk_bytes": 0}},
        {"trickle_next": {"interval_s": -1}},
        {"trickle_next": {"speed": 1}},
        {"trickle_next": 5},
        {"bad_download_next": {"content_type": ""}},
        {"bad_download_next": {"count": 1.5}},
        {"rate_limit_next": {"header": 42}},
        {"rate_limit_next": {"header": "line\nbreak"}},
    ],
)
async def test_bad_knobs_are_refused(sandbox: Sandbox, knobs) -> None:
    response = await sandbox.client.post("/_sandbox/faults", json=knobs)
    assert response.status_code == 400, knobs
    assert response.json()["error"] == "invalid_knob"
    assert sandbox.state.faults.trickle_next is None and sandbox.state.faults.bad_download_next is None
