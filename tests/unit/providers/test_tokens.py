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


def failing_fetcher(release: asyncio.Event | None = None, fail_times: int = 1):
    calls = {"n": 0}

    async def fetch():
        calls["n"] += 1
        if release is not None:
            await release.wait()
        if calls["n"] <= fail_times:
            raise RuntimeError(f"token endpoint down (fetch {calls['n']})")
        return f"token-{calls['n']}", 100.0, []

    return fetch, calls


async def test_a_failed_fetch_is_shared_by_every_waiter() -> None:
    cache = TokenCache()
    release = asyncio.Event()
    fetch, calls = failing_fetcher(release)
    waiters = [asyncio.create_task(cache.get("k", fetch)) for _ in range(20)]
    while calls["n"] == 0:
        await asyncio.sleep(0)
    release.set()
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert calls["n"] == 1  # not 20 fetches one after another
    assert [str(r) for r in results] == ["token endpoint down (fetch 1)"] * 20


async def test_a_failure_is_remembered_for_the_failure_ttl_then_fetched_again() -> None:
    clock = Clock()
    cache = TokenCache(clock=clock, failure_ttl_s=5)
    fetch, calls = failing_fetcher()
    for _ in range(3):
        with pytest.raises(RuntimeError, match="fetch 1"):
            await cache.get("k", fetch)
        clock.now += 2  # 0, 2, 4 s after the failure: still remembered
    assert calls["n"] == 1
    clock.now += 1.5  # 5.5 s
    token = await cache.get("k", fetch)
    assert calls["n"] == 2 and token.access_token.get_secret_value() == "token-2"


async def test_failure_ttl_per_call_and_zero_disables_it() -> None:
    cache = TokenCache(failure_ttl_s=60)
    fetch, calls = failing_fetcher()
    with pytest.raises(RuntimeError):
        await cache.get("k", fetch, failure_ttl_s=0)
    assert (await cache.get("k", fetch, failure_ttl_s=0)).access_token.get_secret_value() == "token-2"
    assert calls["n"] == 2


async def test_a_waiter_that_gives_up_does_not_cancel_the_shared_fetch() -> None:
    cache = TokenCache()
    release = asyncio.Event()
    fetch, calls = fetcher()

    async def slow_fetch():
        await release.wait()
        return await fetch()

    impatient = asyncio.create_task(cache.get("k", slow_fetch))
    patient = asyncio.create_task(cache.get("k", slow_fetch))
    await asyncio.sleep(0)
    impatient.cancel()
    await asyncio.gather(impatient, return_exceptions=True)
    release.set()
    token = await patient
    assert impatient.cancelled() and calls["n"] == 1
    assert token.access_token.get_secret_value() == "token-1"


async def test_invalidate_after_a_401_forces_exactly_one_new_fetch() -> None:
    cache = TokenCache()
    fetch, calls = fetcher()
    old = await cache.get("k", fetch)
    cache.invalidate("k", old)
    new = await asyncio.gather(*(cache.get("k", fetch) for _ in range(10)))
    assert calls["n"] == 2 and len({id(t) for t in new}) == 1


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
