from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from workers.dms.base import DmsAdapter, DmsRejected
from workers.dms.filesystem import FilesystemDms

CONTENT = b"%PDF-1.7 contract\n" * 100


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "spool.part"
    path.write_bytes(CONTENT)
    return path


@pytest.fixture
def dms(tmp_path: Path) -> FilesystemDms:
    return FilesystemDms(tmp_path / "dms")


async def test_store_then_find_is_idempotent(dms: FilesystemDms, source: Path) -> None:
    assert isinstance(dms, DmsAdapter)
    assert await dms.find("doc_1") is None
    stored = await dms.store("doc_1", "r-1_NDA.pdf", source, "application/pdf", {"request_id": "r-1"})
    assert not stored.already_existed
    assert stored.size == len(CONTENT) and stored.sha256 == hashlib.sha256(CONTENT).hexdigest()
    path = Path(stored.location)
    assert path == dms.root / "doc_1" / "r-1_NDA.pdf" and path.read_bytes() == CONTENT

    info = json.loads((dms.root / "doc_1" / "metadata.json").read_text())
    assert info["metadata"] == {"request_id": "r-1"}
    assert info["sha256"] == stored.sha256 and info["size"] == len(CONTENT)
    assert info["stored_at"] and info["filename"] == "r-1_NDA.pdf"

    again = await dms.store("doc_1", "other.pdf", source, "application/pdf", {})
    assert again.already_existed and again.location == stored.location and again.sha256 == stored.sha256
    found = await dms.find("doc_1")
    assert found == again
    assert sorted(p.name for p in (dms.root / "doc_1").iterdir()) == ["metadata.json", "r-1_NDA.pdf"]


@pytest.mark.parametrize("key", ["../evil", "..", ".", "a/b", "a\\b", "", ".hidden", "/abs", "x" * 201, "a..b"])
async def test_unsafe_keys_are_refused(dms: FilesystemDms, source: Path, key: str) -> None:
    with pytest.raises(DmsRejected):
        await dms.store(key, "a.pdf", source, "application/pdf", {})
    with pytest.raises(DmsRejected):
        await dms.find(key)
    assert not (dms.root.parent / "evil").exists()


async def test_filename_is_reduced_to_a_safe_basename(dms: FilesystemDms, source: Path) -> None:
    stored = await dms.store("doc_2", "../../etc/pass wd.pdf", source, "application/pdf", {})
    assert Path(stored.location) == dms.root / "doc_2" / "pass_wd.pdf"
    with pytest.raises(DmsRejected):
        await dms.store("doc_3", "metadata.json", source, "application/json", {})


async def test_a_half_written_document_is_not_complete(dms: FilesystemDms, source: Path) -> None:
    # A crash after the document was renamed into place but before metadata.json was written.
    folder = dms.root / "doc_4"
    folder.mkdir(parents=True)
    (folder / "r_NDA.pdf").write_bytes(b"%PDF-trunc")
    (folder / ".r_NDA.pdf.0123.tmp").write_bytes(b"partial")
    assert await dms.find("doc_4") is None
    stored = await dms.store("doc_4", "r_NDA.pdf", source, "application/pdf", {})
    assert not stored.already_existed and Path(stored.location).read_bytes() == CONTENT


async def test_a_marker_whose_file_is_wrong_is_not_complete(dms: FilesystemDms, source: Path) -> None:
    stored = await dms.store("doc_5", "a.pdf", source, "application/pdf", {})
    Path(stored.location).write_bytes(b"short")
    assert await dms.find("doc_5") is None
    (dms.root / "doc_5" / "metadata.json").write_text("{not json")
    assert await dms.find("doc_5") is None


async def test_no_temporary_files_are_left(dms: FilesystemDms, source: Path) -> None:
    await dms.store("doc_6", "a.pdf", source, "application/pdf", {"k": "ü"})
    assert not [p for p in (dms.root / "doc_6").iterdir() if p.name.endswith(".tmp")]
    info = json.loads((dms.root / "doc_6" / "metadata.json").read_text("utf-8"))
    assert info["metadata"] == {"k": "ü"}
