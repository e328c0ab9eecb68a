"""A SIGKILL mid-batch leaves no partial document; rerunning completes without duplicates."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from qa.config import Settings
from qa.service import Assistant

N_DOCS = 1200
N_NOTES = 100


def corpus(folder: Path) -> Path:
    folder.mkdir()
    lines = [
        json.dumps(
            {
                "id": f"doc{i:03d}",
                "title": f"Report {i}",
                "text": f"Report {i} covers harbour {i}. Cargo volume {i} rose in spring. "
                f"The port authority of town {i} hired {i % 17} new pilots.",
            }
        )
        for i in range(N_DOCS)
    ]
    (folder / "reports.jsonl").write_text("\n".join(lines), encoding="utf-8")
    for i in range(N_NOTES):
        sentences = (f"Lane {j} of note {i} reopened after the storm." for j in range(60))
        (folder / f"note{i:02d}.txt").write_text(" ".join(sentences))
    return folder


def run_ingest(folder: Path, settings: Settings) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CITEQA_DATA_DIR": str(settings.data_dir)}
    env["CITEQA_COLLECTION"] = settings.collection
    if settings.chroma_url:
        env["CITEQA_CHROMA_URL"] = settings.chroma_url
    cli = [sys.executable, "-c", "from qa.cli import main; main()", "ingest", str(folder)]
    return subprocess.Popen(cli, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def assert_consistent(service: Assistant, expected_docs: int) -> None:
    store = service.store()
    docs = store.documents()
    assert len(docs) == expected_docs
    got = store.chunks.get(include=["metadatas"])
    per_doc: Counter[str] = Counter()
    seen: set[tuple[str, int, int]] = set()
    for meta in got["metadatas"] or []:
        doc_id = str(meta["doc_id"])
        assert doc_id in docs, "a chunk without a committed document"
        assert meta["doc_hash"] == docs[doc_id]["doc_hash"], "a chunk of another version"
        span = (doc_id, int(meta["start"]), int(meta["end"]))
        assert span not in seen, "duplicate chunk"
        seen.add(span)
        per_doc[doc_id] += 1
    for doc_id, meta in docs.items():
        assert per_doc[doc_id] == meta["n_chunks"], f"partial document {doc_id}"
    assert len(store.lexical_index()) == sum(per_doc.values())


@pytest.mark.slow
def test_sigkill_mid_batch_then_rerun(settings: Settings, embeddings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = corpus(tmp_path / "in")
    proc = run_ingest(folder, settings)
    service = Assistant(settings, embeddings=embeddings)
    deadline = time.monotonic() + 240
    if settings.chroma_url:
        # Kill right after the first commit, while later batches are being written.
        while time.monotonic() < deadline and not service.store().documents():
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.05)
    else:
        # An embedded store cannot be read while the other process writes: kill on a clock.
        time.sleep(16)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL, "the ingest finished before it was killed"

    rerun = run_ingest(folder, settings)
    out, errs = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, errs.decode()
    assert b"failed 0" in out
    service = Assistant(settings, embeddings=embeddings)
    assert_consistent(service, N_DOCS + N_NOTES)
