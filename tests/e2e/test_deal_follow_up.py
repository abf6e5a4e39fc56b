"""The bound on waiting for a signature, as a person meets it: after ``maxStatusChecks`` checks with no
webhook, ``deal-contract`` stops at the Zeebe user task "Follow up unsigned contract" (group ``sales-ops``,
linked Camunda form). Driven through Tasklist's REST API and the 8.6 REST API on the full profile, as a
reviewer's tools would: find the task, complete it, and the flow checks again and finishes.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.conftest import deploy_all, eventually
from tests.e2e.nda_env import nda_env
from tests.e2e.test_deal_contract import contracts_for, crm_status, new_deal, sent_contract

pytestmark = [pytest.mark.e2e, pytest.mark.full]


async def tasklist_tasks(http: httpx.AsyncClient, csrf: dict[str, str], process_instance_key: int) -> list[Any]:
    response = await http.post("/v1/tasks/search", json={"processInstanceKey": str(process_instance_key),
                                                          "state": "CREATED"}, headers=csrf)  # fmt: skip
    response.raise_for_status()
    return response.json()


async def test_an_unsigned_contract_waits_for_a_person_then_finishes(full_engine, tmp_path) -> None:
    from pyzeebe import ZeebeClient, create_insecure_channel

    channel = create_insecure_channel(grpc_address=full_engine.address)
    await deploy_all(ZeebeClient(channel, max_connection_retries=-1))
    await channel.close()
    async with nda_env(full_engine.address, tmp_path) as env, \
            httpx.AsyncClient(base_url=full_engine.rest_url, timeout=30, trust_env=False) as http:  # fmt: skip
        deal_id = await new_deal(env)
        await env.spotdraft_control("POST", "/_sandbox/faults", {"webhook_enabled": False})
        created = await env.client.run_process("deal-contract", variables={
            "dealId": deal_id, "reconcileAfter": "PT1S", "maxStatusChecks": 1})  # fmt: skip
        key = created.process_instance_key
        contract = await sent_contract(env, deal_id)

        login = await http.post("/api/login", params={"username": "demo", "password": "demo"})
        assert login.status_code in (200, 204), login.status_code
        csrf = {"X-CSRF-TOKEN": login.headers["X-CSRF-TOKEN"]} if "X-CSRF-TOKEN" in login.headers else {}

        async def follow_up_task():
            tasks = await tasklist_tasks(http, csrf, key)
            return next((t for t in tasks if t.get("taskDefinitionId") == "follow_up"), None)

        task = await eventually(follow_up_task, timeout=180, interval=2,
                                what="the follow-up task in Tasklist")  # fmt: skip
        assert task["candidateGroups"] == ["sales-ops"], task
        assert task.get("formKey") or task.get("formId"), task  # the linked Camunda form

        # the counterparty signs (no webhook: it is switched off), then the person completes the task
        await env.spotdraft_control("POST", f"/_sandbox/contracts/{contract.composite_id}/sign")
        done = await http.post(f"/v2/user-tasks/{task['id']}/completion", json={"variables": {"followedUp": True}},
                               headers=csrf)  # the session of the login above: CSRF header required
        assert done.status_code == 204, done.text

        await crm_status(env, deal_id, "EXECUTED")
        assert len(contracts_for(env, deal_id)) == 1
        await env.spotdraft_control("POST", "/_sandbox/faults", {"webhook_enabled": True})
