"""Contractize as a plug-in (``workers.plugins``): settings ``CONTRACTIZE_*``, sandbox on 8091."""

from __future__ import annotations

from typing import Any

from workers import config
from workers.plugins import Plugin, SandboxSpec


def _client(settings: Any) -> Any:
    from workers.providers.contractize.adapter import build_provider

    return build_provider(settings)


def _source(settings: Any, dev: bool) -> Any:
    from workers.bridge.sources import ContractizeSource
    from workers.secret_checks import webhook_verifier

    return ContractizeSource(webhook_verifier(settings, dev=dev))


def _sandbox(settings: Any, bridge_url: str) -> SandboxSpec:
    # The Contractize sandbox calls back on the URL each generate request names (the provider settings'
    # callback_url), so it needs no bridge address of its own.
    from workers.sandbox.app import create_app

    sandbox = config.sandbox()
    return SandboxSpec(create_app(sandbox), sandbox.host, sandbox.port, "sandbox provider (Contractize-style)")


PLUGIN = Plugin("contractize", "contract-provider", config.provider, _client, _source, _sandbox)
