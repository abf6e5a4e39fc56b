"""A small client for Operate's public API (v1) as an operator's tools see it.

Under ``bin/camunda`` the API needs a session login plus the ``X-CSRF-TOKEN`` header that the login
response carries; ``demo``/``demo`` is the local stack's user.

Operate imports the exporter's records asynchronously (seconds on an idle machine, much longer on a
loaded one), so what it shows lags the engine. The ``wait_for_*`` methods poll until Operate shows
exactly what the caller needs and, when it never does, raise ``OperateTimeout`` saying what was last seen.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import httpx

T = TypeVar("T")

# Generous: a busy 2-core machine stretches Operate's import to tens of seconds.
DEFAULT_WAIT_S = 180.0


class OperateTimeout(AssertionError):
    """Operate did not show the expected state in time; the message says what it showed last."""


async def poll(
    read: Callable[[], Awaitable[T]],
    until: Callable[[T], bool],
    what: str,
    timeout: float = DEFAULT_WAIT_S,
    interval: float = 1.0,
) -> T:
    """Call ``read`` until ``until(result)`` holds; HTTP errors while polling count as "not yet"."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: object = "nothing (no read completed)"
    while True:
        try:
            result = await read()
        except httpx.HTTPError as exc:  # Operate starting up or busy: keep polling until the deadline
            last = f"{type(exc).__name__}: {exc}"
        else:
            if until(result):
                return result
            last = result
        if loop.time() >= deadline:
            raise OperateTimeout(f"Operate did not show {what} within {timeout:.0f}s; last seen: {last!r}")
        await asyncio.sleep(interval)


class OperateClient:
    def __init__(self, base_url: str, username: str = "demo", password: str = "demo") -> None:
        self._http = httpx.AsyncClient(base_url=base_url, timeout=10.0)
        self._username = username
        self._password = password
        self._csrf: str | None = None

    async def __aenter__(self) -> "OperateClient":
        await self.login()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()

    async def login(self) -> None:
        response = await self._http.post(
            "/api/login", params={"username": self._username, "password": self._password}
        )
        if response.status_code not in (200, 204):
            raise RuntimeError(f"Operate login failed: HTTP {response.status_code}")
        self._csrf = response.headers.get("X-CSRF-TOKEN")

    async def _search(self, what: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        headers = {"X-CSRF-TOKEN": self._csrf} if self._csrf else {}
        response = await self._http.post(f"/v1/{what}/search", json=body, headers=headers)
        response.raise_for_status()
        return response.json().get("items", [])

    # -- one read each: what Operate shows right now ------------------------------------------
    async def process_instance(self, key: int) -> dict[str, Any] | None:
        items = await self._search("process-instances", {"filter": {"key": key}})
        return items[0] if items else None

    async def variables(self, process_instance_key: int) -> dict[str, Any]:
        items = await self._search(
            "variables", {"filter": {"processInstanceKey": process_instance_key}, "size": 1000}
        )
        return {item["name"]: item["value"] for item in items}

    async def incidents(self, process_instance_key: int) -> list[dict[str, Any]]:
        return await self._search("incidents", {"filter": {"processInstanceKey": process_instance_key}})

    async def process_definitions(self, bpmn_process_id: str) -> list[dict[str, Any]]:
        return await self._search("process-definitions", {"filter": {"bpmnProcessId": bpmn_process_id}})

    # -- waits: each for exactly the thing a caller is about to rely on ------------------------
    async def wait_for_instance(self, key: int, state: str, timeout: float = DEFAULT_WAIT_S) -> dict[str, Any]:
        return await poll(
            lambda: self.process_instance(key),
            lambda found: bool(found) and found.get("state") == state,
            f"instance {key} in state {state}",
            timeout,
        )

    async def wait_for_variables(
        self,
        process_instance_key: int,
        names: Iterable[str],
        timeout: float = DEFAULT_WAIT_S,
        until: Callable[[dict[str, Any]], bool] | None = None,
    ) -> dict[str, Any]:
        """Wait until every name is shown (and ``until`` holds: e.g. a later update has been imported)."""
        wanted = set(names)
        return await poll(
            lambda: self.variables(process_instance_key),
            lambda found: wanted <= set(found) and (until is None or until(found)),
            f"variables {sorted(wanted)} of instance {process_instance_key}",
            timeout,
        )

    async def wait_for_incident(
        self, process_instance_key: int, timeout: float = DEFAULT_WAIT_S
    ) -> dict[str, Any]:
        found = await poll(
            lambda: self.incidents(process_instance_key),
            bool,
            f"an incident of instance {process_instance_key}",
            timeout,
        )
        return found[0]

    async def wait_for_definitions(self, bpmn_process_id: str, timeout: float = DEFAULT_WAIT_S) -> list[dict[str, Any]]:
        return await poll(
            lambda: self.process_definitions(bpmn_process_id),
            lambda found: any(d.get("bpmnProcessId") == bpmn_process_id for d in found),
            f"a process definition {bpmn_process_id!r}",
            timeout,
        )
