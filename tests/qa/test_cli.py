"""The citeqa command line, run as a user runs it (a real process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import SAMPLE


def citeqa(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CITEQA_DATA_DIR": str(data_dir), "CITEQA_MODE": "extractive"}
    return subprocess.run(
        [sys.executable, "-c", "from qa.cli import main; main()", *args],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_ingest_search_docs_cycle(tmp_path: Path) -> None:
    data = tmp_path / "data"
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\x00\x01\x02binary")
    result = citeqa(data, "ingest", str(SAMPLE), str(bad))
    assert result.returncode == 3, "partial ingest has its own exit code"
    assert "added 1, updated 0, unchanged 0, failed 1" in result.stdout
    assert "bad.txt" in result.stderr and "binary" in result.stderr

    result = citeqa(data, "search", "concessions the US offered", "--k", "2", "--json")
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert "SWIFT" in hits[0]["chunk"]["text"]

    listing = json.loads(citeqa(data, "docs", "list", "--json").stdout)
    assert [d["date"] for d in listing] == ["2022-03-07"]
    doc_id = listing[0]["doc_id"]
    assert citeqa(data, "docs", "remove", doc_id).returncode == 0
    assert json.loads(citeqa(data, "docs", "list", "--json").stdout) == []
    assert citeqa(data, "docs", "remove", doc_id).returncode == 1


def test_docs_remove_deletes_the_uploaded_file_like_the_api(tmp_path: Path) -> None:
    import io

    from qa.config import Settings
    from qa.service import Assistant

    data = tmp_path / "data"
    service = Assistant(Settings(data_dir=data, mode="extractive"))
    text = b"date 2022-05-02\nThe harbour crane fleet grew to nine cranes in May.\n"
    (result,) = service.add_files([("cranes.txt", io.BytesIO(text))])
    upload = service.settings.uploads_dir() / service.settings.collection / result.saved_as
    assert result.status == "added" and upload.exists()
    removed = citeqa(data, "docs", "remove", result.doc_ids[0])
    assert removed.returncode == 0, removed.stderr
    assert not upload.exists(), "the CLI removes the uploaded file, as DELETE /v1/documents does"
