"""Two writer processes on one Chroma server lose nothing (issue 9): one ``citeqa ingest``
of 400 files while another process ingests one file at a time in a tight loop."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from qa.config import Settings
from qa.service import Assistant

LOOP = """
import sys
from pathlib import Path
from qa.config import Settings
from qa.service import Assistant
settings = Settings(data_dir=Path(sys.argv[1]), chroma_url=sys.argv[2], collection="shared")
service = Assistant(settings)
files = sorted(Path(sys.argv[3]).iterdir())
rounds = 0
while not Path(sys.argv[4]).exists() or rounds < 2:
    for path in files:
        for result in service.ingest([path]).results:
            assert result.status != "failed", result
    rounds += 1
print("rounds", rounds)
"""


def corpus(folder: Path, prefix: str, n: int) -> Path:
    folder.mkdir()
    for i in range(n):
        (folder / f"{prefix}{i:03d}.txt").write_text(
            f"{prefix.title()} bulletin {i}: the ferry to island {i} left at {i % 24} hours. "
            f"Its captain reported calm seas near lighthouse {prefix}{i}."
        )
    return folder


@pytest.mark.slow
def test_bulk_ingest_and_a_tight_loop_writer_lose_nothing(
    chroma_server: str, tmp_path: Path
) -> None:
    bulk = corpus(tmp_path / "bulk", "bulk", 400)
    loop = corpus(tmp_path / "loop", "loop", 12)
    done = tmp_path / "bulk-done"
    env = {**os.environ, "CITEQA_CHROMA_URL": chroma_server, "CITEQA_COLLECTION": "shared"}
    looper = subprocess.Popen(
        [sys.executable, "-c", LOOP, str(tmp_path / "d2"), chroma_server, str(loop), str(done)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        cli = [sys.executable, "-c", "from qa.cli import main; main()"]
        ingest = subprocess.run(
            [*cli, "ingest", "--workers", "2", str(bulk)],
            env={**env, "CITEQA_DATA_DIR": str(tmp_path / "d1")},
            capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        done.touch()
        _, errs = looper.communicate(timeout=600)
    finally:
        if looper.poll() is None:
            looper.kill()
    assert ingest.returncode == 0, ingest.stderr
    assert "added 400, updated 0, unchanged 0, failed 0" in ingest.stdout
    assert looper.returncode == 0, errs
    check = subprocess.run(
        [*cli, "docs", "check"], env={**env, "CITEQA_DATA_DIR": str(tmp_path / "d3")},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert check.returncode == 0 and "0 damaged documents" in check.stdout, check.stderr
    settings = Settings(data_dir=tmp_path / "d3", chroma_url=chroma_server, collection="shared")
    store = Assistant(settings).store()
    docs = store.documents()
    assert len(docs) == 412
    assert sum(int(d["n_chunks"]) for d in docs.values()) == store.count()
    index = store.lexical_index()
    assert len(index) == store.count()
    assert index.search("lighthouse bulk399", 1) and index.search("lighthouse loop11", 1)
