"""Every task type this package serves, in the order the NDA flow runs them, then the deal flow's
(``deal-contract``) in its order."""

from __future__ import annotations

from workers.tasks import build_payload, check_status, generate, get_token, hr_sync, ping, prune_pii, upload_dms
from workers.tasks.deal import check_data as deal_check_data
from workers.tasks.deal import check_status as deal_check_status
from workers.tasks.deal import create_contract as deal_create_contract
from workers.tasks.deal import file_contract as deal_file_contract
from workers.tasks.deal import key_data as deal_key_data
from workers.tasks.deal import send_contract as deal_send_contract
from workers.tasks.deal import sync_crm as deal_sync_crm
from workers.tasks.runtime import TaskSpec


def all_specs() -> list[TaskSpec]:
    return [
        build_payload.SPEC,
        get_token.SPEC,
        generate.SPEC,
        check_status.SPEC,
        upload_dms.SPEC,
        hr_sync.SPEC,
        deal_check_data.SPEC,
        deal_create_contract.SPEC,
        deal_send_contract.SPEC,
        deal_check_status.SPEC,
        deal_key_data.SPEC,
        deal_file_contract.SPEC,
        deal_sync_crm.SPEC,
        prune_pii.SPEC,  # only instances of employee-nda v1 still run it
        ping.SPEC,
    ]
