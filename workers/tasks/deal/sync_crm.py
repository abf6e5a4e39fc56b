"""``deal.sync-crm``: write the contract's outcome back to the CRM deal, idempotently.

One update of the deal (HubSpot: ``PATCH``) with the properties the CRM plug-in's settings name
(``HUBSPOT_CONTRACT_ID_PROPERTY``, ``..._STATUS_...``, ``..._LINK_...``, ``HUBSPOT_DMS_LOCATION_PROPERTY``)
and the contract's key data under ``KEY_DATA_PROPERTIES`` (``contract_`` + the key pointer's name, without
doubling the prefix); other key data is not written. Values not known on this path (no DMS location for a
declined contract) are left as the deal has them. Setting the same values again changes nothing, so a
retried or re-delivered job is harmless. What is written is ours: ids, a status, links, key data.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from workers.tasks.deal.crm_errors import call_crm
from workers.tasks.deal.deal_data import CONTRACT_ID_PATTERN, DEAL_ID_PATTERN, PLUGIN_PATTERN
from workers.tasks.deal.provider_calls import plugin_client, plugin_settings
from workers.tasks.runtime import JobInfo, TaskModel, TaskSpec

# Key pointer field name -> the deal property it is written to.
KEY_DATA_PROPERTIES: dict[str, str] = {
    "effective_date": "contract_effective_date",
    "contract_value": "contract_value",
    "term": "contract_term",
    "renewal_date": "contract_renewal_date",
    "notice_period": "contract_notice_period",
}


class SyncCrmInput(TaskModel):
    deal_id: str = Field(pattern=DEAL_ID_PATTERN, description="The CRM deal id (=dealId).")
    crm: str = Field(default="hubspot", pattern=PLUGIN_PATTERN, description="The CRM plug-in.")
    contract_status: str = Field(pattern=r"^[A-Z][A-Z_]{0,31}$",
                                 description='Set by the diagram: "EXECUTED", "DECLINED" or "VOIDED".')  # fmt: skip
    contract_id: str | None = Field(default=None, pattern=CONTRACT_ID_PATTERN,
                                    description="The provider's composite contract id.")  # fmt: skip
    contract_link: str | None = Field(default=None, max_length=2048, pattern=r"^https?://\S+$",
                                      description="The contract's page at the provider.")  # fmt: skip
    dms_location: str | None = Field(default=None, max_length=1024, description="Where the DMS filed it.")
    contract_key_data: dict[str, str] = Field(default_factory=dict, max_length=100,
                                              description="Output of deal.key-data.")  # fmt: skip


class CrmSyncResult(TaskModel):
    system: str
    status: str
    properties_written: list[str]


class SyncCrmOutput(TaskModel):
    crm_sync: CrmSyncResult


def deal_properties(data: SyncCrmInput, settings: Any) -> dict[str, str]:
    properties = {settings.contract_status_property: data.contract_status}
    for name, value in ((settings.contract_id_property, data.contract_id),
                        (settings.contract_link_property, data.contract_link),
                        (settings.dms_location_property, data.dms_location)):  # fmt: skip
        if value:
            properties[name] = value
    for field_name, name in KEY_DATA_PROPERTIES.items():
        value = data.contract_key_data.get(field_name)
        if value:
            properties[name] = value[:255]
    return properties


async def handle(data: SyncCrmInput, job: JobInfo, deps: Any) -> SyncCrmOutput:
    crm = plugin_client(deps, data.crm, "crm")
    properties = deal_properties(data, plugin_settings(deps, data.crm, "crm"))
    await call_crm(lambda: crm.update_deal(data.deal_id, properties), job,
                   f"writing the contract's {data.contract_status} outcome to deal {data.deal_id}")  # fmt: skip
    return SyncCrmOutput(crm_sync=CrmSyncResult(system=getattr(crm, "name", data.crm), status=data.contract_status,
                                                properties_written=sorted(properties)))  # fmt: skip


SPEC = TaskSpec(
    type="deal.sync-crm",
    name="Deal: sync contract back to CRM",
    description="Writes the contract's id, status, link, DMS location and key data to the CRM deal; "
    "idempotent.",
    input_model=SyncCrmInput,
    output_model=SyncCrmOutput,
    handler=handle,
    error_codes=(),
    # Long enough to wait out a CRM's Retry-After in-process instead of spending a retry.
    timeout_ms=60_000,
    retries=5,
    backoff_base_ms=2_000,
)
