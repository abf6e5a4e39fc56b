"""The webhook event model and its mapping onto Zeebe messages."""

from __future__ import annotations

import pytest

from workers.bridge.events import (
    MESSAGE_NAMES,
    MalformedEvent,
    message_name,
    message_variables,
    parse_envelope,
    parse_event,
)

from .support import DOWNLOAD_URL, PERSONAL_EMAIL, PERSONAL_NAME, make_event


def test_message_names():
    assert message_name("document.ready") == "contract-ready"
    assert message_name("document.failed") == "contract-failed"
    assert message_name("document.archived") is None
    assert set(MESSAGE_NAMES) == {"document.ready", "document.failed"}


def test_full_event_parses_and_ignores_unknown_fields():
    event = parse_event(make_event())

    assert event.event_id == "evt_0001"
    assert event.doc_id == "doc_42"
    assert event.occurred_at.year == 2025
    assert not hasattr(event, "download_url")


def test_variables_are_minimal():
    variables = message_variables(parse_event(make_event()))

    assert variables == {"contractStatus": "ready", "contractEventId": "evt_0001"}
    assert PERSONAL_NAME not in str(variables) and DOWNLOAD_URL not in str(variables)


@pytest.mark.parametrize("missing", ["event_id", "event_type", "doc_id", "status", "template_id", "occurred_at"])
def test_each_required_field_is_named_when_missing(missing: str):
    event = make_event()
    del event[missing]

    with pytest.raises(MalformedEvent, match=missing):
        parse_event(event)


def test_metadata_is_optional():
    event = make_event()
    del event["metadata"]
    assert parse_event(event).metadata == {}


@pytest.mark.parametrize("value", ["", "x" * 300])
def test_doc_id_must_be_a_sane_correlation_key(value: str):
    with pytest.raises(MalformedEvent, match="doc_id"):
        parse_event(make_event(doc_id=value))


def test_errors_never_echo_input_values():
    with pytest.raises(MalformedEvent) as info:
        parse_event(make_event(status=[PERSONAL_NAME], occurred_at=PERSONAL_EMAIL, metadata=PERSONAL_NAME))

    text = str(info.value)
    assert "status" in text and "occurred_at" in text and "metadata" in text
    assert PERSONAL_NAME not in text and PERSONAL_EMAIL not in text


def test_envelope_only_needs_id_and_type():
    envelope = parse_envelope({"event_id": "evt_x", "event_type": "something.new"})
    assert (envelope.event_id, envelope.event_type) == ("evt_x", "something.new")


@pytest.mark.parametrize("payload", [[], "text", 3, None])
def test_non_objects_are_malformed(payload):
    with pytest.raises(MalformedEvent, match="JSON object"):
        parse_envelope(payload)
