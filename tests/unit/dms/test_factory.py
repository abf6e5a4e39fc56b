from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from workers.audit import AuditTransport
from workers.config import DmsSettings
from workers.dms.base import DmsAdapter
from workers.dms.factory import build_dms
from workers.dms.filesystem import FilesystemDms
from workers.dms.http import HttpDms
from workers.dms.s3 import S3Dms


async def test_factory_builds_each_kind(tmp_path: Path) -> None:
    fs = build_dms(DmsSettings(kind="filesystem", root=tmp_path))
    assert isinstance(fs, FilesystemDms) and fs.root == tmp_path

    http = build_dms(DmsSettings(kind="http", url="http://dms.test/", token=SecretStr("t"), timeout_s=7))
    assert isinstance(http, HttpDms) and http.base_url == "http://dms.test"
    assert isinstance(http.client._transport, AuditTransport) and http.client.timeout.read == 7
    await http.aclose()
    assert http.client.is_closed

    s3 = build_dms(DmsSettings(kind="s3", s3_bucket="b", s3_prefix="c", s3_endpoint_url="http://minio:9000"))
    assert isinstance(s3, S3Dms) and s3.prefix == "c/" and s3.endpoint_url == "http://minio:9000"
    for adapter in (fs, http, s3):
        assert isinstance(adapter, DmsAdapter)
