"""The provider token cache: one OAuth2 token per (provider, scope) per worker process.

* A token is reused until ``refresh_margin_s`` before it expires (for very short-lived tokens, until
  half its lifetime, so a margin larger than the lifetime cannot make every call refetch).
* Refreshing is single-flight: one fetch task per key, so 100 concurrent ``get()`` calls on an empty
  cache cause exactly one fetch; every waiter gets its token *or its error* (20 waiters behind a dead
  token endpoint see one failed fetch, not 20 fetches one after another).
* A failure is remembered for ``failure_ttl_s`` (a few seconds): calls in that window fail at once.
* ``invalidate(key, token)`` drops the token only if it is still the current one (a 401 seen by an old
  request must not throw away the token another request has just fetched).

The token string is wrapped in ``Secret``, whose ``repr``/``str`` hide it; only the HTTP layer calls
``get_secret_value()``. Nothing here logs.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any
from datetime import datetime, timezone


class Secret:
    """A string that does not print: ``repr``/``str``/``format`` show ``**********``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********"

    def __format__(self, spec: str) -> str:
        return "**********"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return hmac.compare_digest(self._value.encode(), other._value.encode())
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self):  # never pickled into a cache, a queue or a crash dump by accident
        raise TypeError("Secret values cannot be pickled")


@dataclass(frozen=True)
class CachedToken:
    access_token: Secret
    # Wall-clock expiry, for ``TokenInfo`` and operators.
    expires_at: datetime
    # ``clock()`` value after which the token is refreshed.
    refresh_at: float
    scopes: tuple[str, ...]

    def __repr__(self) -> str:
        return f"CachedToken(expires_at={self.expires_at.isoformat()}, scopes={self.scopes!r})"


# An async callable returning (access_token, expires_in seconds, granted scopes).
Fetch = Callable[[], Awaitable[tuple[str, float, Sequence[str]]]]


@dataclass(frozen=True)
class _Failure:
    error: BaseException
    until: float  # ``clock()`` value until which ``get()`` re-raises ``error`` without fetching


def _retrieve(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()


class TokenCache:
    """In-process token cache, keyed by any hashable (the provider uses ``(provider, base_url,
    client_id, scope)``). Safe to share between providers and tasks of one event loop."""

    def __init__(
        self, refresh_margin_s: float = 30.0, clock: Callable[[], float] = time.time, failure_ttl_s: float = 5.0
    ) -> None:
        self.refresh_margin_s = refresh_margin_s
        self.failure_ttl_s = failure_ttl_s
        self._clock = clock
        self._tokens: dict[Hashable, CachedToken] = {}
        self._failures: dict[Hashable, _Failure] = {}
        self._inflight: dict[Hashable, tuple[asyncio.AbstractEventLoop, asyncio.Task[CachedToken]]] = {}
        self.fetches = 0  # how many times a fetch callable was awaited (tests and metrics)

    def _fresh(self, token: CachedToken | None) -> bool:
        return token is not None and self._clock() < token.refresh_at

    def peek(self, key: Hashable) -> CachedToken | None:
        """The current token for ``key`` if it is still fresh, without fetching."""
        token = self._tokens.get(key)
        return token if self._fresh(token) else None

    async def get(
        self,
        key: Hashable,
        fetch: Fetch,
        refresh_margin_s: float | None = None,
        failure_ttl_s: float | None = None,
    ) -> CachedToken:
        """The fresh token for ``key``; otherwise one shared fetch whose token *or error* every waiter
        gets. A failed fetch is remembered for ``failure_ttl_s`` seconds: calls in that window raise the
        same error at once instead of queueing one fetch each behind a dead endpoint."""
        token = self._tokens.get(key)
        if self._fresh(token):
            return token  # type: ignore[return-value]
        failure = self._failures.get(key)
        if failure is not None:
            if self._clock() < failure.until:
                raise failure.error.with_traceback(None)
            del self._failures[key]
        loop = asyncio.get_running_loop()
        entry = self._inflight.get(key)
        if entry is None or entry[0] is not loop or entry[1].done():
            # A task of its own: a waiter that gives up (its deadline, its job cancelled) does not
            # cancel the fetch the others are waiting for.
            task = loop.create_task(self._fetch(key, fetch, refresh_margin_s, failure_ttl_s))
            task.add_done_callback(_retrieve)  # every waiter may have given up: no "never retrieved"
            entry = (loop, task)
            self._inflight[key] = entry
        return await asyncio.shield(entry[1])

    async def _fetch(
        self, key: Hashable, fetch: Fetch, refresh_margin_s: float | None, failure_ttl_s: float | None
    ) -> CachedToken:
        margin = self.refresh_margin_s if refresh_margin_s is None else refresh_margin_s
        ttl = self.failure_ttl_s if failure_ttl_s is None else failure_ttl_s
        issued = self._clock()
        self.fetches += 1
        try:
            access_token, expires_in, scopes = await fetch()
        except Exception as exc:
            if ttl > 0:
                self._failures[key] = _Failure(exc, self._clock() + ttl)
            raise
        finally:
            entry = self._inflight.get(key)
            if entry is not None and entry[1] is asyncio.current_task():
                del self._inflight[key]
        expires_in = max(0.0, float(expires_in))
        token = CachedToken(
            access_token=Secret(access_token),
            expires_at=datetime.fromtimestamp(issued + expires_in, tz=timezone.utc),
            refresh_at=issued + max(expires_in - margin, expires_in / 2),
            scopes=tuple(scopes),
        )
        self._tokens[key] = token
        self._failures.pop(key, None)
        return token

    def invalidate(self, key: Hashable, token: CachedToken | Secret | str | None = None) -> bool:
        """Drop the cached token for ``key`` if it is ``token`` (or unconditionally when ``token`` is
        None). Returns whether something was dropped."""
        current = self._tokens.get(key)
        if current is None:
            return False
        if token is not None:
            if isinstance(token, CachedToken):
                token = token.access_token
            value = token.get_secret_value() if isinstance(token, Secret) else token
            if not hmac.compare_digest(value.encode(), current.access_token.get_secret_value().encode()):
                return False
        del self._tokens[key]
        return True

    def clear(self) -> None:
        self._tokens.clear()
        self._failures.clear()
