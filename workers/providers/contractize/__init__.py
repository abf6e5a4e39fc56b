"""The Contractize-style contract provider (seed 000): adapter, its HTTP layer, its plug-in entry.

Its settings are ``workers.config.ProviderSettings`` (``CONTRACTIZE_*``); its simulator is
``workers.sandbox`` (port 8091).
"""

from __future__ import annotations

from workers.providers.contractize.adapter import (
    PROVIDER_NAME,
    SHARED_TOKEN_CACHE,
    ContractizeProvider,
    ProviderError,
    build_provider,
    parse_retry_after,
)

__all__ = ["PROVIDER_NAME", "SHARED_TOKEN_CACHE", "ContractizeProvider", "ProviderError", "build_provider",
           "parse_retry_after"]  # fmt: skip
