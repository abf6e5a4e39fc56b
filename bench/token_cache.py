"""Token cache under concurrency: how many token requests do N concurrent jobs cause, and how long
does a cached get() take?   .venv/bin/python -m bench.token_cache"""

from __future__ import annotations

import asyncio
import time

from workers.providers.tokens import TokenCache


async def main() -> None:
    fetches = 0

    async def fetch():
        nonlocal fetches
        fetches += 1
        await asyncio.sleep(0.05)  # a provider round trip
        return "tok", 3600, ("generate:nda-001",)

    for n in (1, 100, 1000):
        cache = TokenCache()
        fetches = 0
        t0 = time.perf_counter()
        await asyncio.gather(*(cache.get(("p", "s"), fetch) for _ in range(n)))
        print(f"{n:5d} concurrent cold get(): {fetches} token request(s), {1000 * (time.perf_counter() - t0):.1f} ms")
    cache = TokenCache()
    await cache.get(("p", "s"), fetch)
    rounds = 100_000
    t0 = time.perf_counter()
    for _ in range(rounds):
        await cache.get(("p", "s"), fetch)
    print(f"cached get(): {1e6 * (time.perf_counter() - t0) / rounds:.2f} µs each over {rounds} calls")


if __name__ == "__main__":
    asyncio.run(main())
