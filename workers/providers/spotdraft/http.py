"""The HTTP layer of the SpotDraft adapter: one exchange within a total deadline, logged once, HTTP outcomes
mapped onto ``providers.base`` errors, and the streamed download (``SpotDraftClient`` builds on it).

Published (SpotDraft Public API, "Redirects", "Errors", "Terms and usage guidelines"): auth is two headers,
``client-id`` and ``client-secret``; a ``302`` means ``http`` instead of ``https`` or a trailing slash that
does not match the documented path, so redirects are never followed here and become an error naming both
causes; 400 invalid input, 401 credentials, 402 business rule / workflow state, 403 not allowed, 404 not
found or not visible, 409 conflict, 429 rate limited (10 requests/s per workspace), 5xx.

Our choices: a 429's ``Retry-After`` is honoured when present (SpotDraft does not publish one; default 1 s,
clamped to ``retry_after_max_s``) and retrying is left to the caller (Zeebe's back-off); 408 counts as 5xx.
Messages name the host, the method, the path (our ids only, never a query string), status codes, field
names and the body's ``code``; never a body value, a header or a credential.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, NoReturn
from urllib.parse import urlsplit

import httpx
import structlog

from workers.providers.answers import is_pdf_media_type, media_type, parse_retry_after
from workers.providers.base import (
    DocumentNotFound,
    ProviderAuthError,
    ProviderBadAnswer,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from workers.providers.spotdraft.errors import ContractStateInvalid, error_code, error_fields
from workers.providers.spotdraft.models import valid_composite_id
from workers.providers.spotdraft.settings import SpotDraftSettings

log = structlog.get_logger(__name__)

PROVIDER_NAME = "spotdraft"
USER_AGENT = "contract-workers/0.1"
DEFAULT_RETRY_AFTER_S = 1.0  # the published limit is per second


def host_of(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "?"  # never the userinfo part
    return f"{host}:{parts.port}" if parts.port else host


class SpotDraftHttp:
    """Exchanges with SpotDraft; ``SpotDraftClient`` adds the API calls."""

    def __init__(self, settings: SpotDraftSettings, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self._base = settings.base_url.rstrip("/")
        self._host = host_of(self._base)
        self._timeout = settings.timeout_s
        self._total = settings.total_timeout_s
        self._download_total = settings.download_timeout_s
        # No default auth headers: the download URL is a capability of its own and gets none.
        self.client = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(settings.timeout_s),
            follow_redirects=False,
            trust_env=False,  # environment proxies would bypass the injected (audited) transport
            headers={"User-Agent": USER_AGENT},
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    def _auth(self) -> dict[str, str]:
        return {
            "client-id": self.settings.client_id,
            "client-secret": self.settings.client_secret.get_secret_value(),
            "Accept": "application/json",
        }

    # --- errors -----------------------------------------------------------------------------------

    def _unavailable(self, what: str) -> ProviderUnavailable:
        return ProviderUnavailable(f"SpotDraft at {self._host} unavailable: {what}")

    def _transport_error(self, exc: Exception, where: str) -> ProviderUnavailable:
        if isinstance(exc, httpx.TimeoutException):
            return self._unavailable(f"timed out after {self._timeout:g}s on {where} (SPOTDRAFT_TIMEOUT_S)")
        if isinstance(exc, httpx.ConnectError):
            return self._unavailable(f"could not connect on {where}")
        return self._unavailable(f"connection failed ({type(exc).__name__}) on {where}")

    def _redirect(self, response: httpx.Response, where: str, url: str) -> ProviderBadAnswer:
        location = urlsplit(response.headers.get("location", ""))
        ours = urlsplit(url)
        if location.scheme == "https" and ours.scheme == "http":
            hint = "the URL uses http instead of https"
        elif location.path and location.path.rstrip("/") == ours.path.rstrip("/"):
            hint = "the trailing slash of the path does not match SpotDraft's documented path"
        else:
            hint = "http instead of https, or a trailing slash that does not match the documented path"
        return ProviderBadAnswer(
            f"SpotDraft at {self._host} answered {where} with a redirect (HTTP {response.status_code}; redirects "
            f"are not followed): {hint}; check SPOTDRAFT_BASE_URL (https://api.<region>.spotdraft.com/api)"
        )

    def _fail(
        self,
        response: httpx.Response,
        where: str,
        url: str,
        *,
        not_found: Callable[[], Exception] | None = None,
        rejected: Callable[[list[str], str], Exception] | None = None,
    ) -> NoReturn:
        """Raise the error for a non-success answer. ``not_found`` builds the 404 error, ``rejected`` the
        400/409/422 one from (field names, detail text)."""
        status = response.status_code
        body = self._json(response)
        code = error_code(body)
        suffix = f", code {code}" if code else ""
        if 300 <= status < 400:
            raise self._redirect(response, where, url)
        if status == 429:
            seconds = parse_retry_after(
                response.headers.get("retry-after"), DEFAULT_RETRY_AFTER_S, maximum=self.settings.retry_after_max_s
            )
            raise ProviderRateLimited(
                f"SpotDraft at {self._host} rate-limited {where} (HTTP 429; 10 requests/s per workspace); retry "
                f"after {seconds:g}s",
                seconds,
            )
        if status >= 500 or status == 408:
            raise self._unavailable(f"HTTP {status} on {where}")
        if status == 401:
            raise ProviderAuthError(
                f"SpotDraft at {self._host} refused the credentials (HTTP 401 on {where}{suffix}); check "
                "SPOTDRAFT_CLIENT_ID, SPOTDRAFT_CLIENT_SECRET and that SPOTDRAFT_BASE_URL is the workspace's region"
            )
        if status == 403:
            raise ProviderAuthError(
                f"SpotDraft at {self._host} refused access (HTTP 403 on {where}{suffix}); the user the API "
                "credential belongs to lacks the permission"
            )
        if status == 402:
            raise ContractStateInvalid(
                f"SpotDraft at {self._host} refused {where} in the contract's current workflow state "
                f"(HTTP 402{suffix})",
                code,
            )
        if status == 404 and not_found is not None:
            raise not_found()
        if status in (400, 409, 422):
            names, unnamed = error_fields(body)
            detail = ", ".join(names) if names else "no field names given"
            if unnamed:
                detail += f" (and {unnamed} problem(s) without a usable field name)"
            text = f"(HTTP {status} on {where}{suffix}); fields: {detail}"
            if rejected is not None:
                raise rejected(names, text)
            raise ProviderRejected(f"SpotDraft at {self._host} rejected {text}", fields=names)
        if 400 <= status < 500:
            raise ProviderRejected(f"SpotDraft at {self._host} rejected {where} (HTTP {status}{suffix})")
        raise self._unavailable(f"unexpected HTTP {status} on {where}")

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            return None

    def _body(self, response: httpx.Response, where: str, kind: type) -> Any:
        body = self._json(response)
        if not isinstance(body, kind):
            expected = "a JSON object" if kind is dict else "a JSON array"
            raise ProviderBadAnswer(
                f"SpotDraft at {self._host} sent an unreadable answer to {where} "
                f"({media_type(response.headers.get('content-type'))}, expected {expected})"
            )
        return body

    def _bad_field(self, where: str, name: str) -> ProviderBadAnswer:
        return ProviderBadAnswer(f"SpotDraft at {self._host} answered {where} without a usable {name}")

    # --- one exchange -----------------------------------------------------------------------------

    async def _call(self, method: str, path: str, *, json: Any = None) -> tuple[httpx.Response, str, str]:
        """One exchange (request sent, whole answer read) within ``total_timeout_s``, logged once.
        Returns the response, ``"METHOD /path"`` for messages and the URL."""
        url = f"{self._base}{path}"
        where = f"{method} {urlsplit(url).path}"
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        try:
            async with asyncio.timeout(self._total):
                response = await self.client.request(
                    method, url, json=json, headers=self._auth(), timeout=self._timeout
                )
            status = response.status_code
            return response, where, url
        except TimeoutError:
            error = "TotalTimeout"
            raise self._unavailable(
                f"no complete answer within {self._total:g}s on {where} (SPOTDRAFT_TOTAL_TIMEOUT_S)"
            ) from None
        except httpx.TransportError as exc:
            error = type(exc).__name__
            raise self._transport_error(exc, where) from None
        except asyncio.CancelledError:
            error = "Cancelled"
            raise
        finally:
            line = {
                "provider": PROVIDER_NAME, "method": method, "path": urlsplit(url).path, "status": status,
                "latency_ms": round((time.perf_counter() - started) * 1000, 1),
            }  # fmt: skip
            if error is not None:
                log.warning("spotdraft.call", **line, error=error)
            elif status is not None and (status >= 500 or status == 429):
                log.warning("spotdraft.call", **line)
            else:
                log.info("spotdraft.call", **line)

    # --- download ---------------------------------------------------------------------------------

    @staticmethod
    def _check_composite(composite_id: object) -> str:
        """``composite_id`` when it is one (``T-123``/``H-123``); else ``DocumentNotFound`` without a request
        (an unchecked id never reaches a URL path, and is not repeated: it may be anything)."""
        if not valid_composite_id(composite_id):
            raise DocumentNotFound(
                "SpotDraft: the contract id is not a composite id (T-123 or H-123); no request was sent"
            )
        return composite_id  # type: ignore[return-value]

    async def _download_link(self, composite_id: str) -> str:
        raise NotImplementedError  # SpotDraftClient: POST contracts/{composite_id}/download_link

    def _download_deadline(self, composite_id: str) -> ProviderUnavailable:
        return self._unavailable(
            f"the download of contract {composite_id} took longer than {self._download_total:g}s "
            "(SPOTDRAFT_DOWNLOAD_TIMEOUT_S)"
        )

    async def download(self, composite_id: str) -> AsyncIterator[bytes]:
        """Stream the contract's current PDF. The download link is fresh (it expires quickly), is a capability
        by itself and gets no credentials; a refused link (400/403: expired) is replaced once. Link and file
        share one total deadline (``download_timeout_s``); a 200 that is not a PDF by its media type is
        refused here, by its first bytes in ``dms.spool``."""
        composite_id = self._check_composite(composite_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._download_total
        for attempt in (1, 2):
            try:
                async with asyncio.timeout_at(deadline):
                    link = await self._download_link(composite_id)
                    request = self.client.build_request("GET", link, headers={"Accept": "application/pdf"})
                    response = await self.client.send(request, stream=True)
            except TimeoutError:
                raise self._download_deadline(composite_id) from None
            except httpx.TransportError as exc:
                raise self._transport_error(exc, f"the download of contract {composite_id}") from None
            try:
                status = response.status_code
                if status in (400, 403) and attempt == 1:
                    continue  # expired between issue and use: a fresh link (finally closes this one)
                if status != 200:
                    raise self._download_error(status, composite_id)
                if not is_pdf_media_type(response.headers.get("content-type")):
                    raise ProviderBadAnswer(
                        f"SpotDraft's storage answered the download of contract {composite_id} with "
                        f"{media_type(response.headers.get('content-type'))} instead of a PDF (HTTP 200)"
                    )
                chunks = response.aiter_bytes()
                while True:
                    try:
                        async with asyncio.timeout_at(deadline):
                            chunk = await anext(chunks)
                    except StopAsyncIteration:
                        return
                    except TimeoutError:
                        raise self._download_deadline(composite_id) from None
                    yield chunk
            except httpx.TransportError as exc:
                raise self._transport_error(exc, f"the download of contract {composite_id}") from None
            except httpx.StreamError as exc:
                raise self._unavailable(f"the download of contract {composite_id} broke off "
                                        f"({type(exc).__name__})") from None  # fmt: skip
            finally:
                await response.aclose()

    def _download_error(self, status: int, composite_id: str) -> Exception:
        if status in (400, 403):
            return self._unavailable(f"the download link of contract {composite_id} was refused twice (HTTP "
                                     f"{status}); check the clock of this host")  # fmt: skip
        if status == 404:
            return DocumentNotFound(f"SpotDraft's storage has no file for contract {composite_id} (HTTP 404)")
        return self._unavailable(f"HTTP {status} on the download of contract {composite_id}")


__all__ = ["DEFAULT_RETRY_AFTER_S", "PROVIDER_NAME", "SpotDraftHttp", "USER_AGENT", "host_of"]
