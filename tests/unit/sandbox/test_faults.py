from __future__ import annotations

import asyncio

import pytest

from workers.sandbox import faults as sandbox_faults
from workers.sandbox.state import SandboxState

from .support import Sandbox, bearer


async def test_fail_next_hits_only_matching_paths(sandbox: Sandbox) -> None:
    token = await sandbox.token()
    await sandbox.faults(fail_next={"status": 503, "count": 2, "path_prefix": "/v1/generate"})
    assert (await sandbox.client.get("/v1/templates/nda-001", headers=bearer(token))).status_code == 200
    first = await sandbox.generate(token, key="k")
    second = await sandbox.generate(token, key="k")
    assert (first.status_code, second.status_code) == (503, 503)
    assert first.json() == {"error": "service_unavailable"}
    third = await sandbox.generate(token, key="k")
    assert third.status_code == 202
    assert sandbox.state.counters["generate_calls"] == 3
    assert sandbox.state.counters["documents_created"] == 1
    assert sandbox.state.counters["faults_injected"] == 2
    assert sandbox.state.faults.fail_next is None


async def test_rate_limit_answers_429_with_retry_after(sandbox: Sandbox) -> None:
    token = await sandbox.token()
    await sandbox.faults(rate_limit_next={"count": 1, "retry_after": 2})
    response = await sandbox.generate(token)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    assert response.json()["error"] == "rate_limited"
    assert (await sandbox.generate(token)).status_code == 202


async def test_down_makes_every_api_call_503_but_not_the_control_plane(sandbox: Sandbox) -> None:
    token = await sandbox.token()
    await sandbox.faults(down=True)
    assert (await sandbox.client.post("/oauth/token", data={"grant_type": "client_credentials"})).status_code == 503
    assert (await sandbox.generate(token)).status_code == 503
    assert (await sandbox.client.get("/v1/templates/nda-001", headers=bearer(token))).status_code == 503
    assert (await sandbox.client.get("/_sandbox/state")).status_code == 200
    await sandbox.faults(down=False)
    assert (await sandbox.generate(token)).status_code == 202


async def test_timeout_holds_the_response_after_doing_the_work(sandbox: Sandbox) -> None:
    token = await sandbox.token()
    await sandbox.faults(timeout_next={"count": 1, "seconds": 600})
    pending = asyncio.create_task(sandbox.generate(token, key="pi-7:gen"))
    for _ in range(6000):  # the work is done while the answer is still held (no wall-clock bound)
        if sandbox.state.counters["documents_created"] == 1 or pending.done():
            break
        await asyncio.sleep(0.01)
    assert not pending.done(), "the answer was not held"
    pending.cancel()  # the client gives up
    await asyncio.gather(pending, return_exceptions=True)
    # ...but the provider created the document: the retry with the same key finds it, no duplicate.
    assert sandbox.state.counters["documents_created"] == 1
    retry = await sandbox.generate(token, key="pi-7:gen")
    assert retry.status_code == 200
    assert sandbox.state.counters["documents_created"] == 1


class _RecordedSleeps:
    """Stands in for the ``asyncio`` module inside the sandbox app: records every ``sleep`` (and yields
    once instead of waiting), so delays are checked by what was asked for, not by a wall clock."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __getattr__(self, name: str):
        return getattr(asyncio, name)

    async def sleep(self, seconds: float, result=None):
        self.calls.append(seconds)
        await _real_sleep(0)
        return result


_real_sleep = asyncio.sleep


async def test_timeout_and_latency_delay_answers(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps = _RecordedSleeps()
    monkeypatch.setattr(sandbox_faults, "asyncio", sleeps)  # the fault middleware's sleeps
    token = await sandbox.token()
    await sandbox.faults(timeout_next={"count": 1, "seconds": 0.2, "when": "before"})
    sleeps.calls.clear()
    assert (await sandbox.client.get("/v1/templates/nda-001", headers=bearer(token))).status_code == 200
    assert sleeps.calls == [0.2]
    sleeps.calls.clear()
    assert (await sandbox.client.get("/v1/templates/nda-001", headers=bearer(token))).status_code == 200
    assert sleeps.calls == []  # the hold was for one request only

    await sandbox.faults(latency_ms=100)
    sleeps.calls.clear()
    assert (await sandbox.client.get("/v1/templates/nda-001", headers=bearer(token))).status_code == 200
    assert sleeps.calls == [0.1]


async def test_bad_knobs_are_refused_and_change_nothing(sandbox: Sandbox) -> None:
    for knobs in ({"explode": True}, {"down": "yes"}, {"fail_next": {"status": 42}}, {"latency_ms": -1},
                  {"down": True, "webhook_duplicates": -1}, {"timeout_next": {"when": "later"}}):
        response = await sandbox.client.post("/_sandbox/faults", json=knobs)
        assert response.status_code == 400, knobs
        assert response.json()["error"] == "invalid_knob"
    assert sandbox.state.faults.down is False
    current = (await sandbox.client.get("/_sandbox/faults")).json()["faults"]
    assert current["webhook_enabled"] is True


async def test_reset_forgets_documents_counters_and_faults(sandbox: Sandbox) -> None:
    token = await sandbox.token()
    await sandbox.generate(token, key="k")
    await sandbox.faults(latency_ms=5, webhook_duplicates=3)
    assert (await sandbox.client.post("/_sandbox/reset")).status_code == 200
    state = (await sandbox.client.get("/_sandbox/state")).json()
    assert state["documents"] == []
    assert state["counters"]["documents_created"] == 0
    assert state["faults"]["latency_ms"] == 0 and state["faults"]["webhook_duplicates"] == 0
    # tokens survive a plain reset, so a long-lived client keeps working; reset with tokens clears them
    assert (await sandbox.generate(token, key="k")).status_code == 202
    await sandbox.client.post("/_sandbox/reset", json={"tokens": True})
    assert (await sandbox.generate(token)).status_code == 401


def test_knobs_are_settable_from_python() -> None:
    state = SandboxState()
    state.set_faults({"fail_next": {"status": 500, "count": 1}, "webhook_delay_s": 0.5})
    assert state.take_fail("/oauth/token") == 500
    assert state.take_fail("/oauth/token") is None
    assert state.faults.webhook_delay_s == 0.5
    state.faults.down = True
    assert state.snapshot()["faults"]["down"] is True
