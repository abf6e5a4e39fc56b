"""contract.ping: the reversed message and who answered; a blank message is the task's BPMN error."""

from __future__ import annotations

import socket
from datetime import timezone

import pytest

from workers import __version__
from workers.errors import ContractDataInvalid
from workers.tasks.ping import PingInput, handle

from .fakes import job


async def test_answers_with_the_reversed_message_and_the_worker() -> None:
    out = await handle(PingInput.model_validate({"message": "hello"}), job(), None)
    assert out.pong == "olleh"
    assert out.answered_by == socket.gethostname()
    assert out.worker_version == __version__
    assert out.answered_at.tzinfo is not None and out.answered_at.utcoffset() == timezone.utc.utcoffset(None)
    assert set(out.model_dump(by_alias=True)) == {"pong", "answeredBy", "workerVersion", "answeredAt"}


async def test_the_default_message_is_ping() -> None:
    assert (await handle(PingInput.model_validate({}), job(), None)).pong == "gnip"


@pytest.mark.parametrize("blank", ["", "   ", "\t\n"])
async def test_a_blank_message_names_the_field(blank: str) -> None:
    with pytest.raises(ContractDataInvalid) as info:
        await handle(PingInput(message=blank), job(), None)
    assert info.value.fields == ["message"]
    assert info.value.code == "CONTRACT_DATA_INVALID"
