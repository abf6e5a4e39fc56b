"""A small client for Operate's public API (v1) as an operator's tools see it.

Under ``bin/camunda`` the API needs a session login plus the ``X-CSRF-TOKEN`` header that the login
response carries; ``demo``/``demo`` is the local stack's user.
"""

from __future__ import annotations

from typing import Any

import httpx


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
