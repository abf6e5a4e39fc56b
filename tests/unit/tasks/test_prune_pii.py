"""contract.prune-pii: only allow-listed scalars leave; nested values never pass whole; values are never named."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest

from workers.config import PiiSettings
from workers.tasks.prune_pii import ContractRequest
from workers.tasks.prune_pii import PruneInput, handle, prune

from .fakes import job

ALWAYS = ["request_id", "initiated_by", "template_id", "template_version", "doc_id"]


def run(data: dict, allowed: list[str], metadata: dict[str, str] | None = None):
    return prune("nda-001", data, metadata or {}, {"nda-001": allowed}, ALWAYS)


def test_only_allow_listed_fields_pass() -> None:
    kept, dropped = run(
        {"employee_name": "Grace Hopper", "employee_email": "grace@example.com", "salary": 123456},
        ["employee_name"],
        {"request_id": "E-1", "employee_phone": "+1 555"},
    )
    assert kept == {"employee_name": "Grace Hopper", "request_id": "E-1"}
    assert dropped == ["employee_email", "employee_phone", "salary"]


@pytest.mark.parametrize(
    ("value", "text"),
    [("x", "x"), (3, "3"), (2.5, "2.5"), (True, "True"), (date(2027, 1, 4), "2027-01-04")],
)
def test_scalars_of_allowed_fields_pass_as_strings(value, text) -> None:
    assert run({"f": value}, ["f"]) == ({"f": text}, [])


@pytest.mark.parametrize(
    "value",
    [
        {"name": "Grace Hopper", "national_id": "756.1234.5678.97"},
        ["Grace Hopper", "grace@example.com"],
        ("a", "b"),
        None,
        float("nan"),
        b"bytes",
    ],
)
def test_a_non_scalar_under_an_allowed_key_is_dropped_and_named(value) -> None:
    kept, dropped = run({"employee_name": value, "start_date": "2027-01-04"}, ["employee_name", "start_date"])
    assert kept == {"start_date": "2027-01-04"}
    assert dropped == ["employee_name"]


def test_a_dotted_entry_lets_exactly_one_nested_scalar_through() -> None:
    data = {
        "address": {"city": "Arlington", "street": "1 Navy Yard", "geo": {"lat": 38.8}},
        "manager": {"name": "Ada"},
    }
    kept, dropped = run(data, ["address.city", "address.geo", "manager"])
    assert kept == {"address.city": "Arlington"}
    assert dropped == ["address.geo", "address.street", "manager"]


def test_a_dotted_entry_does_not_open_a_scalar_or_a_list() -> None:
    kept, dropped = run({"address": "1 Navy Yard", "phones": ["+1"]}, ["address.city", "phones.0"])
    assert kept == {}
    assert dropped == ["address", "phones"]


def test_unknown_template_keeps_nothing_but_our_tracking_keys() -> None:
    kept, dropped = prune("other", {"employee_name": "G"}, {"doc_id": "d1"}, {"nda-001": ["employee_name"]}, ALWAYS)
    assert kept == {"doc_id": "d1"} and dropped == ["employee_name"]


async def test_handler_output_names_dropped_fields_never_their_values() -> None:
    request = ContractRequest(
        template_id="nda-001",
        template_version="3",
        data={
            "employee_name": {"first": "Grace", "last": "Hopper", "national_id": "756.1234.5678.97"},
            "start_date": "2027-01-04",
            "salary": 123456,
        },
        metadata={"request_id": "E-7", "initiated_by": "HR_SYSTEM"},
    )
    deps = SimpleNamespace(pii=PiiSettings(allow_list={"nda-001": ["employee_name", "start_date"]}))
    out = await handle(PruneInput(contract_request=request, doc_id="doc_9"), job(), deps)
    variables = out.model_dump(mode="json", by_alias=True)
    assert variables["dmsMetadata"] == {
        "start_date": "2027-01-04",
        "request_id": "E-7",
        "initiated_by": "HR_SYSTEM",
        "template_id": "nda-001",
        "doc_id": "doc_9",
    }
    assert variables["droppedFields"] == ["employee_name", "salary"]
    assert variables["employee"] == {"id": "E-7"} and variables["contractRequest"] is None
    for value in ("Grace", "Hopper", "756.1234", "123456"):
        assert value not in repr(variables)
