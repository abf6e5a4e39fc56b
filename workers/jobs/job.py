"""An activated job, decoded once from the gateway's ``ActivatedJob`` message."""

from __future__ import annotations

import json
import time
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Job:
    key: int
    type: str
    process_instance_key: int
    bpmn_process_id: str
    element_id: str
    element_instance_key: int
    retries: int
    deadline: int  # epoch milliseconds (the broker's clock)
    variables: Mapping[str, Any]
    custom_headers: Mapping[str, Any]
    worker: str = ""
    tenant_id: str = ""

    @classmethod
    def from_proto(cls, raw: Any) -> "Job":
        return cls(
            key=raw.key,
            type=raw.type,
            process_instance_key=raw.processInstanceKey,
            bpmn_process_id=raw.bpmnProcessId,
            element_id=raw.elementId,
            element_instance_key=raw.elementInstanceKey,
            retries=raw.retries,
            deadline=raw.deadline,
            variables=types.MappingProxyType(json.loads(raw.variables or "{}")),
            custom_headers=types.MappingProxyType(json.loads(raw.customHeaders or "{}")),
            worker=raw.worker,
            tenant_id=raw.tenantId,
        )

    def seconds_left(self, now: float | None = None) -> float:
        return self.deadline / 1000 - (time.time() if now is None else now)

    def log_context(self) -> dict[str, Any]:
        return {
            "process_instance_key": self.process_instance_key,
            "job_key": self.key,
            "task_type": self.type,
            "element_id": self.element_id,
            "bpmn_process_id": self.bpmn_process_id,
        }
