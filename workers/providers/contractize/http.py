"""The HTTP layer of the Contractize adapter: one exchange within a total deadline, HTTP outcomes mapped
onto ``providers.base`` errors, and the streamed download (``ContractizeProvider`` builds on it).

httpx's timeouts are per read (a server trickling a byte a second never trips them), so every exchange is
also bounded in total (``total_timeout_s``, default ``timeout_s``) and the download by its own, larger
bound (``download_timeout_s``). Messages name the host, the method and the path, never a body, a header,
a query string, a token or a secret.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, NoReturn
from urllib.parse import urlsplit

import httpx

from workers.config import ProviderSettings
from workers.providers.answers import (
    DEFAULT_RETRY_AFTER_S,
    is_pdf_media_type,
    media_type,
    oauth_code,
    parse_retry_after,
)
from workers.providers.answers import safe_text as _safe
from workers.providers.base import (
    DocumentNotFound,
    ProviderAuthError,
    ProviderBadAnswer,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)


def _host_of(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "?"  # never the userinfo part
    return f"{host}:{parts.port}" if parts.port else host


class ContractizeHttp:
    """Exchanges with the provider; subclasses set the attributes below and add ``get_document``."""

    settings: ProviderSettings
    client: httpx.AsyncClient
    _host: str
    _scopes: tuple[str, ...]
    _timeout: float
    _total: float
    _download_total: float

    # --- errors -----------------------------------------------------------------------------------

    def _where(self, method: str, url: str) -> str:
        return f"{method} {urlsplit(url).path or '/'}"

    def _unavailable(self, what: str) -> ProviderUnavailable:
        return ProviderUnavailable(f"contract provider at {self._host} unavailable: {what}")

    def _deadline(self, seconds: float, method: str, url: str) -> ProviderUnavailable:
        return self._unavailable(
            f"no complete answer within {seconds:g}s on {self._where(method, url)} "
            "(total deadline: CONTRACTIZE_TOTAL_TIMEOUT_S, CONTRACTIZE_DOWNLOAD_TIMEOUT_S for downloads)"
        )

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One exchange (request sent, whole answer read) within the total deadline."""
        try:
            async with asyncio.timeout(self._total):
                return await self.client.request(method, url, timeout=self._timeout, **kwargs)
        except TimeoutError:
            raise self._deadline(self._total, method, url) from None
        except httpx.TransportError as exc:
            raise self._transport_error(exc, method, url) from None

    def _transport_error(self, exc: Exception, method: str, url: str) -> ProviderUnavailable:
        where = self._where(method, url)
        if isinstance(exc, httpx.TimeoutException):
            kind = {
                httpx.ConnectTimeout: "connecting",
                httpx.PoolTimeout: "waiting for a free connection",
            }.get(type(exc))
            suffix = f" {kind}" if kind else ""
            return self._unavailable(f"timed out after {self._timeout:g}s{suffix} on {where}")
        if isinstance(exc, httpx.ConnectError):
            text = str(exc).lower()
            if "refused" in text:
                return self._unavailable(f"connection refused on {where}")
            if "name" in text and ("resolution" in text or "known" in text or "resolve" in text):
                return self._unavailable(f"host name could not be resolved on {where}")
            return self._unavailable(f"could not connect on {where}")
        return self._unavailable(f"connection failed ({type(exc).__name__}) on {where}")

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            return None

    def _oauth_code(self, response: httpx.Response) -> str:
        return oauth_code(self._json(response))

    def _raise_common(self, response: httpx.Response, method: str, url: str) -> None:
        """429, 5xx, 401, 403 and anything unexpected but 4xx-specific, which callers handle first."""
        status = response.status_code
        where = self._where(method, url)
        if status == 429:
            retry_after = parse_retry_after(
                response.headers.get("retry-after"), DEFAULT_RETRY_AFTER_S, maximum=self.settings.retry_after_max_s
            )
            raise ProviderRateLimited(
                f"contract provider at {self._host} rate-limited {where} (HTTP 429); retry after {retry_after:g}s",
                retry_after,
            )
        if status >= 500 or status == 408:
            raise self._unavailable(f"HTTP {status} on {where}")
        if status == 401:
            raise ProviderAuthError(
                f"contract provider at {self._host} refused a freshly issued token "
                f"(HTTP 401{self._oauth_code(response)} on {where})"
            )
        if status == 403:
            raise ProviderAuthError(
                f"contract provider at {self._host} refused access (HTTP 403{self._oauth_code(response)} on {where}); "
                f"the token was granted scopes {' '.join(self._scopes) or '(none)'}: check CONTRACTIZE_SCOPES "
                "and the client's grants"
            )

    def _unexpected(self, response: httpx.Response, method: str, url: str) -> NoReturn:
        self._raise_common(response, method, url)
        status = response.status_code
        if 400 <= status < 500:
            raise ProviderRejected(
                f"contract provider at {self._host} rejected {self._where(method, url)} (HTTP {status})"
            )
        raise self._unavailable(f"unexpected HTTP {status} on {self._where(method, url)}")

    def _bad_body(self, method: str, url: str) -> ProviderUnavailable:
        return self._unavailable(f"unreadable answer to {self._where(method, url)}")

    # --- download ---------------------------------------------------------------------------------

    async def _ready_download_url(self, doc_id: str) -> str:
        doc = await self.get_document(doc_id)
        if doc.status == "failed":
            raise ProviderRejected(f"document {_safe(doc_id)!r} failed at the contract provider; it cannot be downloaded")
        if doc.status != "ready" or not doc.download_url:
            raise self._unavailable(f"document {_safe(doc_id)!r} is not ready yet (status {_safe(doc.status, 20)})")
        return doc.download_url

    async def download(self, doc_id: str) -> AsyncIterator[bytes]:
        """Stream the rendered document. The signed URL is fetched fresh (it expires quickly) and is a
        capability by itself: no bearer token is sent with it. An expired link (403) is refreshed once.
        Opening and reading the stream share one total deadline (``download_timeout_s``); a 200 that is
        not a PDF by its media type is refused here, by its first bytes in ``dms.spool``."""
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            url = await self._ready_download_url(doc_id)
            deadline = loop.time() + self._download_total
            request = self.client.build_request("GET", url, headers={"Accept": "application/pdf"}, timeout=self._timeout)
            try:
                async with asyncio.timeout_at(deadline):
                    response = await self.client.send(request, stream=True)
            except TimeoutError:
                raise self._deadline(self._download_total, "GET", url) from None
            except httpx.TransportError as exc:
                raise self._transport_error(exc, "GET", url) from None
            try:
                if response.status_code == 403 and attempt == 1:
                    continue  # the link expired between issue and use: get a fresh one (finally closes)
                if response.status_code != 200:
                    await self._read_error_body(response, deadline, url)
                    self._download_status(response, doc_id, url)
                if not is_pdf_media_type(response.headers.get("content-type")):
                    raise ProviderBadAnswer(
                        f"contract provider at {self._host} answered the download of document {_safe(doc_id)!r} "
                        f"with {media_type(response.headers.get('content-type'))} instead of a PDF (HTTP 200 on GET "
                        f"{urlsplit(url).path}); a login page or a proxy in between?"
                    )
                chunks = response.aiter_bytes()
                while True:
                    try:
                        async with asyncio.timeout_at(deadline):
                            chunk = await anext(chunks)
                    except StopAsyncIteration:
                        return
                    except TimeoutError:
                        raise self._deadline(self._download_total, "GET", url) from None
                    yield chunk
            except httpx.TransportError as exc:
                raise self._transport_error(exc, "GET", url) from None
            except httpx.StreamError as exc:
                raise self._unavailable(f"download of document {_safe(doc_id)!r} broke off ({type(exc).__name__})") from None
            finally:
                await response.aclose()

    async def _read_error_body(self, response: httpx.Response, deadline: float, url: str) -> None:
        try:
            async with asyncio.timeout_at(deadline):
                await response.aread()
        except TimeoutError:
            raise self._deadline(self._download_total, "GET", url) from None

    def _download_status(self, response: httpx.Response, doc_id: str, url: str) -> NoReturn:
        status = response.status_code
        if status == 403:
            raise self._unavailable(
                f"download link for document {_safe(doc_id)!r} refused twice (HTTP 403 on GET "
                f"{urlsplit(url).path}); check the clock of this host"
            )
        if status == 404:
            raise DocumentNotFound(f"contract provider at {self._host} has no content for document {_safe(doc_id)!r}")
        if status == 409:
            raise self._unavailable(f"document {_safe(doc_id)!r} is not ready yet (HTTP 409)")
        self._unexpected(response, "GET", url)
