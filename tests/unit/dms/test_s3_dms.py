from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from workers.dms.base import DmsAdapter, DmsRejected
from workers.dms.s3 import S3Dms, user_metadata

boto3 = pytest.importorskip("boto3")
moto = pytest.importorskip("moto")

CONTENT = b"%PDF-1.7 s3 contract\n" * 50
BUCKET = "contracts-test"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch):
    # Fake credentials for moto; nothing leaves the process.
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with moto.mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "spool.part"
    path.write_bytes(CONTENT)
    return path


async def test_store_find_idempotent(s3, source: Path) -> None:
    dms = S3Dms(BUCKET, "contracts", client=s3)
    assert isinstance(dms, DmsAdapter)
    assert await dms.find("doc_1") is None
    metadata = {"request_id": "r-1", "employee_name": "Zoë Ünal", "template_id": "nda-001"}
    stored = await dms.store("doc_1", "r-1_NDA.pdf", source, "application/pdf", metadata)
    assert not stored.already_existed
    assert stored.location == f"s3://{BUCKET}/contracts/doc_1"
    assert stored.sha256 == hashlib.sha256(CONTENT).hexdigest() and stored.size == len(CONTENT)

    obj = s3.get_object(Bucket=BUCKET, Key="contracts/doc_1")
    assert obj["Body"].read() == CONTENT
    assert obj["ContentType"] == "application/pdf"
    assert 'filename="r-1_NDA.pdf"' in obj["ContentDisposition"]
    user = obj["Metadata"]
    assert user["sha256"] == stored.sha256 and user["document-key"] == "doc_1" and user["request-id"] == "r-1"
    assert all(v.isascii() for v in user.values())
    assert user["employee-name"] == "Zo%C3%AB %C3%9Cnal"

    info = json.loads(s3.get_object(Bucket=BUCKET, Key="contracts/doc_1.metadata.json")["Body"].read())
    assert info["metadata"] == metadata and info["sha256"] == stored.sha256 and info["size"] == len(CONTENT)
    assert info["stored_at"]

    again = await dms.store("doc_1", "other.pdf", source, "application/pdf", {})
    assert again.already_existed and again.location == stored.location and again.sha256 == stored.sha256
    assert await dms.find("doc_1") == again


async def test_an_object_without_our_checksum_is_not_a_stored_document(s3, source: Path) -> None:
    s3.put_object(Bucket=BUCKET, Key="contracts/doc_2", Body=b"foreign")
    dms = S3Dms(BUCKET, "contracts/", client=s3)
    assert await dms.find("doc_2") is None
    stored = await dms.store("doc_2", "a.pdf", source, "application/pdf", {})
    assert not stored.already_existed


async def test_errors(s3, source: Path) -> None:
    with pytest.raises(DmsRejected, match="NoSuchBucket"):
        await S3Dms("no-such-bucket", "p/", client=s3).store("doc_3", "a.pdf", source, "application/pdf", {})
    with pytest.raises(DmsRejected):
        await S3Dms(BUCKET, "p/", client=s3).find("../doc")


def test_user_metadata_stays_under_the_limit() -> None:
    meta = user_metadata("k", "f.pdf", "0" * 64, {f"field_{i}": "v" * 100 for i in range(50)})
    assert sum(len(k) + len(v) for k, v in meta.items()) <= 2048
    assert meta["sha256"] == "0" * 64
