"""Personal data never enters the engine, proven where it would stay for good: the exporter's records.

Zeebe's exporter writes every record (every value a variable ever had, message payloads, job and incident
records) into the search engine's ``zeebe-record*`` indices; Operate imports from there and nothing ever
removes a value. This test runs the NDA flow on the full profile down each path an HR system can trigger
(hire webhook → filed, API start → filed, invalid record → rejected, unknown employee), waits until the
exporter has written the last variable of each instance, then reads **every** record of every
``zeebe-record*`` index written during this test session (the full profile's search engine keeps its data
between sessions: records of earlier sessions, e.g. of an older version of the flow, are counted but not
judged) and looks for any personal value of every employee the HR sandbox holds: names, emails,
addresses, birth dates, national ids.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable

import httpx
import pytest

from tests.conftest import SESSION_STARTED_MS
from tests.e2e.conftest import eventually
from tests.e2e.nda_env import NdaEnv, nda_env

pytestmark = [pytest.mark.e2e, pytest.mark.full]

# The broker's data is fresh each session (instance keys start over) while the search engine keeps older
# records: every query is limited to what this session wrote.
THIS_SESSION = {"range": {"timestamp": {"gte": SESSION_STARTED_MS}}}
PERSONAL_FIELDS = ("workEmail", "homeEmail", "address1", "address2", "city", "dateOfBirth", "ssn")


def personal_values(employees: dict[str, dict[str, str]]) -> set[str]:
    """Every personal value the HR sandbox holds: names (as the provider would print them), emails,
    addresses, birth dates, national ids."""
    values: set[str] = set()
    for record in employees.values():
        first = record.get("preferredName") or record.get("firstName") or ""
        last = record.get("lastName") or ""
        for name in (f"{first} {last}", f"{record.get('firstName', '')} {last}"):
            if name.strip() and " " in name.strip():
                values.add(name.strip())
        values.update(record[f] for f in PERSONAL_FIELDS if record.get(f))
    return values


async def all_records(search: httpx.AsyncClient, index: str, since_ms: int) -> AsyncIterator[dict]:
    """Every document of ``index`` written since ``since_ms`` (scroll API): nothing is sampled."""
    query = {"range": {"timestamp": {"gte": since_ms}}}
    response = await search.post(f"/{index}/_search", params={"scroll": "2m"},
                                 json={"size": 1000, "query": query})  # fmt: skip
    response.raise_for_status()
    page = response.json()
    scroll_id = page.get("_scroll_id")
    try:
        while page["hits"]["hits"]:
            for hit in page["hits"]["hits"]:
                yield hit
            response = await search.post("/_search/scroll", json={"scroll": "2m", "scroll_id": scroll_id})
            response.raise_for_status()
            page = response.json()
            scroll_id = page.get("_scroll_id", scroll_id)
    finally:
        if scroll_id:
            await search.request("DELETE", "/_search/scroll", json={"scroll_id": scroll_id})


async def exported_variables(search: httpx.AsyncClient, instance_keys: Iterable[int]) -> dict[int, set[str]]:
    """Variable names the exporter has written so far, per process instance."""
    await search.post("/zeebe-record_variable*/_refresh")
    response = await search.post("/zeebe-record_variable*/_search", json={
        "size": 10_000, "_source": ["value.name", "value.processInstanceKey"],
        "query": {"bool": {"filter": [{"terms": {"value.processInstanceKey": list(instance_keys)}}, THIS_SESSION]}}})
    response.raise_for_status()
    found: dict[int, set[str]] = {}
    for hit in response.json()["hits"]["hits"]:
        value = hit["_source"]["value"]
        found.setdefault(int(value["processInstanceKey"]), set()).add(value["name"])
    return found


@pytest.fixture(scope="module")
async def env(full_engine, tmp_path_factory):
    from pyzeebe import ZeebeClient, create_insecure_channel

    from tests.e2e.conftest import deploy_all

    channel = create_insecure_channel(grpc_address=full_engine.address)
    await deploy_all(ZeebeClient(channel, max_connection_retries=-1))
    await channel.close()
    async with nda_env(full_engine.address, tmp_path_factory.mktemp("exporter")) as env:
        yield env


async def test_no_exported_record_holds_a_personal_value(env: NdaEnv, full_engine) -> None:
    if full_engine.search_url is None:
        pytest.skip("no search engine address for this engine (set CAMUNDA_SEARCH_URL)")
    last_variable: dict[int, str] = {}  # instance -> the variable its last step writes

    # Ids unique to this session: the engine's data (and any instance an aborted session left active, which
    # would swallow a message start with the same correlation key) outlives a session.
    tag = f"P{SESSION_STARTED_MS % 10**8}"
    # hire webhook -> message start -> filed -> HR sync; a hire without a work email -> rejected
    hired = env.add_employee(f"{tag}-300")
    hired_2 = env.add_employee(f"{tag}-303", firstName="Maren", lastName="Holt", workEmail="maren.holt@example.com")
    rejected = env.add_employee(f"{tag}-304", workEmail=None)
    hires = (hired, hired_2, rejected)
    for employee_id in hires:
        await env.hr_post("/_sandbox/hire", {"employeeId": employee_id})
    for employee_id in hires:
        def synced(employee_id=employee_id):
            return env.hr_record(employee_id).get("customNDAStatus")

        await eventually(synced, timeout=180, what=f"HR record {employee_id} updated")
    # API starts: filed, rejected (bad email), unknown employee
    for variables, last in (({"employeeId": env.add_employee(f"{tag}-301")}, "hrSync"),
                            ({"employeeId": env.add_employee(f"{tag}-302", workEmail="not-an-email")}, "hrSync"),
                            ({"employeeId": f"{tag}-404"}, "contractError")):  # fmt: skip
        result = await env.client.run_process_with_result("employee-nda", variables=variables, timeout=180_000)
        last_variable[result.process_instance_key] = last

    async with httpx.AsyncClient(base_url=full_engine.search_url, timeout=60, trust_env=False) as search:
        # Message-started instances: their keys come from the exporter itself (the hrEventId variable).
        async def hire_instances():
            await search.post("/zeebe-record_variable*/_refresh")
            response = await search.post("/zeebe-record_variable*/_search", json={
                "size": 1000, "_source": ["value.processInstanceKey", "value.value"],
                "query": {"bool": {"filter": [{"term": {"value.name": "employeeId"}}, THIS_SESSION]}}})
            keys = {int(h["_source"]["value"]["processInstanceKey"]) for h in response.json()["hits"]["hits"]
                    if json.loads(h["_source"]["value"]["value"]) in hires}  # fmt: skip
            return keys if len(keys) == 3 else None

        for key in await eventually(hire_instances, timeout=120, what="the hire instances' records exported"):
            last_variable[key] = "hrSync"

        async def everything_exported():
            found = await exported_variables(search, last_variable)
            missing = {k: v for k, v in last_variable.items() if v not in found.get(k, set())}
            return None if missing else found

        await eventually(everything_exported, timeout=180, interval=2,
                         what="the exporter wrote each instance's last variable")  # fmt: skip

        indices = (await search.get("/_cat/indices/zeebe-record*", params={"format": "json"})).json()
        names = sorted(i["index"] for i in indices)
        assert any(n.startswith("zeebe-record_variable") for n in names), names
        forbidden = personal_values(env.hr_state.employees)
        assert {"Grace Hopper", "grace.hopper@example.com", "000-42-4242", "Maren Holt"} <= forbidden
        scanned, variable_records, leaks = 0, 0, []
        older = sum(int(i.get("docs.count") or 0) for i in indices)
        for index in names:
            async for hit in all_records(search, index, SESSION_STARTED_MS):
                scanned += 1
                text = json.dumps(hit["_source"], ensure_ascii=False)
                if hit["_source"].get("valueType") == "VARIABLE":
                    variable_records += 1
                leaks += [(index, hit["_source"].get("valueType"), value[:4] + "…") for value in forbidden
                          if value in text]  # fmt: skip
        print(f"[exporter-privacy] {scanned} records of this session in {len(names)} indices ({older - scanned} "
              f"older ones not judged), {variable_records} variable records, {len(forbidden)} personal values "
              "looked for")  # fmt: skip
        assert variable_records >= 6 * len(last_variable), (variable_records, len(last_variable))
        assert leaks == [], leaks[:10]
