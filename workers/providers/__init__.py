"""Contract provider adapters. Tasks see ``providers.base`` only; ``build_provider`` makes the real one."""

from __future__ import annotations

from typing import Any

__all__ = ["ContractizeProvider", "SHARED_TOKEN_CACHE", "TokenCache", "build_provider"]


def __getattr__(name: str) -> Any:  # lazy, so importing ``providers.base`` stays cheap
    if name in ("ContractizeProvider", "SHARED_TOKEN_CACHE", "build_provider"):
        from workers.providers import contractize

        return getattr(contractize, name)
    if name == "TokenCache":
        from workers.providers.tokens import TokenCache

        return TokenCache
    raise AttributeError(name)
