"""contract.get-token: only non-secret facts about the token become variables (fake provider)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from workers.errors import TransientError
from workers.providers.base import ProviderAuthError, ProviderUnavailable
from workers.tasks import get_token
from workers.tasks.get_token import GetTokenInput, handle

from .fakes import FakeProvider, deps, job


async def test_the_output_is_provider_expiry_and_scopes_only(tmp_path: Path) -> None:
    provider = FakeProvider()
    out = await handle(GetTokenInput(), job(), deps(tmp_path, provider))

    assert provider.called("ensure_token") == [None]
    variables = out.model_dump(mode="json", by_alias=True)
    assert variables == {
        "providerToken": {
            "provider": "fake",
            "expiresAt": "2027-01-04T12:00:00Z",
            "scopes": ["generate:nda-001", "documents:read"],
        }
    }
    assert out.provider_token.expires_at == datetime(2027, 1, 4, 12, 0, tzinfo=timezone.utc)


def test_the_input_ignores_whatever_variables_the_instance_has() -> None:
    assert GetTokenInput.model_validate({"employee": {"email": "x@example.com"}}).model_dump() == {}


@pytest.mark.parametrize("error", [ProviderUnavailable("HTTP 503"), ProviderAuthError("HTTP 401")])
async def test_provider_failures_are_transient(tmp_path: Path, error: Exception) -> None:
    provider = FakeProvider(fail={"ensure_token": [error]})
    with pytest.raises(TransientError):
        await handle(GetTokenInput(), job(), deps(tmp_path, provider))


def test_the_spec_throws_no_bpmn_errors() -> None:
    assert get_token.SPEC.error_codes == ()
    assert get_token.SPEC.output_model is get_token.GetTokenOutput
