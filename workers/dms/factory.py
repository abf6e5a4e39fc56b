"""``build_dms(settings)``: the DMS adapter selected by ``DMS_KIND``."""

from __future__ import annotations

import httpx

from workers.audit import AuditTransport
from workers.config import DmsSettings
from workers.dms.base import DmsAdapter


def build_dms(settings: DmsSettings) -> DmsAdapter:
    if settings.kind == "filesystem":
        from workers.dms.filesystem import FilesystemDms

        return FilesystemDms(settings.root)
    if settings.kind == "http":
        from workers.dms.http import HttpDms

        assert settings.url  # checked by DmsSettings
        client = httpx.AsyncClient(
            transport=AuditTransport(httpx.AsyncHTTPTransport(retries=0), component="dms-http"),
            timeout=httpx.Timeout(settings.timeout_s),
            follow_redirects=False,
            trust_env=False,
        )
        return HttpDms(settings.url, client, settings.token, owns_client=True)
    if settings.kind == "s3":
        from workers.dms.s3 import S3Dms

        assert settings.s3_bucket  # checked by DmsSettings
        return S3Dms(
            settings.s3_bucket, settings.s3_prefix, endpoint_url=settings.s3_endpoint_url, timeout_s=settings.timeout_s
        )
    raise ValueError(f"unknown DMS_KIND {settings.kind!r}")
