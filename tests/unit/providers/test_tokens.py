from __future__ import annotations

import asyncio
import pickle

import pytest

from workers.providers.tokens import Secret, TokenCache


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def fetcher(expires_in: float = 100.0, delay: float = 0.0):
    calls = {"n": 0}

    async def fetch():
        calls["n"] += 1
        if delay:
            await asyncio.sleep(delay)
        return f"token-{calls['n']}", expires_in, ["a", "b"]

    return fetch, calls


async def test_reuses_token_until_refresh_margin() -> None:
    clock = Clock()
    cache = TokenCache(refresh_margin_s=30, clock=clock)
    fetch, calls = fetcher(expires_in=100)
    first = await cache.get("k", fetch)
    clock.now += 69
    assert (await cache.get("k", fetch)) is first
    assert calls["n"] == 1
    clock.now += 2  # 71s: inside the 30s margin
    second = await cache.get("k", fetch)
    assert calls["n"] == 2
    assert second.access_token.get_secret_value() == "token-2"
    assert second.scopes == ("a", "b")


async def test_short_lived_token_is_reused_for_half_its_life() -> None:
    clock = Clock()
    cache = TokenCache(refresh_margin_s=30, clock=clock)
    fetch, calls = fetcher(expires_in=20)
    await cache.get("k", fetch)
    clock.now += 9
    await cache.get("k", fetch)
    assert calls["n"] == 1


async def test_hundred_concurrent_gets_fetch_once() -> None:
    cache = TokenCache()
    fetch, calls = fetcher(delay=0.01)
    tokens = await asyncio.gather(*(cache.get(("p", "s"), fetch) for _ in range(100)))
    assert calls["n"] == 1
    assert len({id(t) for t in tokens}) == 1


async def test_keys_are_separate() -> None:
    cache = TokenCache()
    fetch, calls = fetcher()
    await cache.get(("p", "scope-a"), fetch)
    await cache.get(("p", "scope-b"), fetch)
    assert calls["n"] == 2


async def test_invalidate_only_drops_the_current_token() -> None:
    cache = TokenCache()
    fetch, calls = fetcher()
    old = await cache.get("k", fetch)
    assert cache.invalidate("k", old)
    new = await cache.get("k", fetch)
    assert calls["n"] == 2
    # A late 401 on the old token must not throw away the new one.
    assert not cache.invalidate("k", old)
    assert (await cache.get("k", fetch)) is new
    assert calls["n"] == 2
    assert cache.invalidate("k", new.access_token)
    assert cache.peek("k") is None


async def test_failed_fetch_is_not_cached() -> None:
    cache = TokenCache()
    attempts = 0

    async def fetch():
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise RuntimeError("down")
        return "t", 60, []

    with pytest.raises(RuntimeError):
        await cache.get("k", fetch)
    assert (await cache.get("k", fetch)).access_token.get_secret_value() == "t"


async def test_secret_hides_its_value() -> None:
    secret = Secret("abc123")
    assert "abc123" not in repr(secret)
    assert "abc123" not in str(secret)
    assert "abc123" not in f"{secret}"
    assert secret.get_secret_value() == "abc123"
    with pytest.raises(TypeError):
        pickle.dumps(secret)
    cache = TokenCache()
    fetch, _ = fetcher()
    token = await cache.get("k", fetch)
    assert "token-1" not in repr(token)
