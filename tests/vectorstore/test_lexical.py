"""The tantivy BM25 index on its own: ranking, filters inside the engine, atomic updates."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vectorstore.lexical import DocVersion, IndexRow, LexicalFilter, LexicalIndex

ROWS = {
    "alpha": [IndexRow("alpha:0", "alpha", "The alpha reactor opened in Lyon.", 20210105)],
    "beta": [IndexRow("beta:0", "beta", "The beta bridge spans the Danube.", None)],
    "gamma": [IndexRow("gamma:0", "gamma", "Thorium reactors, thorium fuel.", 20220301)],
}


def filled(folder: Path | None) -> LexicalIndex:
    index = LexicalIndex(folder)
    index.apply([DocVersion(d, "v1", rows) for d, rows in ROWS.items()])
    return index


def test_bm25_ranks_and_idf_follows_document_frequency(tmp_path: Path) -> None:
    index = filled(tmp_path)
    assert len(index) == 3
    hits = index.search("thorium reactor", 5)
    assert [h[0] for h in hits] == ["gamma:0", "alpha:0"]
    assert hits[0][1] > hits[1][1] > 0
    assert index.idf("thorium") == pytest.approx(math.log(1 + (3 - 1 + 0.5) / 1.5))
    assert index.idf("reactor") < index.idf("thorium") < index.idf("absent")
    assert index.search("the of and", 5) == []


def test_filters_apply_inside_the_engine_before_top_k(tmp_path: Path) -> None:
    index = LexicalIndex(tmp_path)
    # 40 chunks say "harbour"; the two dated 2022 are the weakest matches.
    rows = [
        IndexRow(f"d{i}:0", f"d{i}", "harbour harbour crane" if i > 1 else "harbour " + "x " * 40,
                 20220101 + i if i <= 1 else 20200101)
        for i in range(40)
    ]  # fmt: skip
    index.apply([DocVersion(r.doc_id, "v1", [r]) for r in rows])
    window = LexicalFilter(date_from=20220101, date_to=20221231)
    assert {h[0] for h in index.search("harbour", 3, window)} == {"d0:0", "d1:0"}
    assert [h[0] for h in index.search("harbour", 3, LexicalFilter(doc_ids=("d7",)))] == ["d7:0"]
    assert index.search("harbour", 3, LexicalFilter(doc_ids=())) == []
    assert index.search("harbour", 3, LexicalFilter(date_to=20191231)) == []


def test_a_document_update_replaces_only_its_rows(tmp_path: Path) -> None:
    index = filled(tmp_path)
    new = [IndexRow("alpha:1", "alpha", "The alpha reactor moved to Quokka.", 20210105)]
    assert (
        index.apply([DocVersion("alpha", "v2", new), DocVersion("beta", "v1", ROWS["beta"])]) == 1
    )
    assert [h[0] for h in index.search("quokka lyon", 5)] == ["alpha:1"]
    assert index.versions() == {"alpha": "v2", "beta": "v1", "gamma": "v1"}
    index.apply([DocVersion("gamma", None)])
    assert index.search("thorium", 5) == [] and len(index) == 2


def test_a_failed_update_leaves_the_previous_state(tmp_path: Path) -> None:
    index = filled(tmp_path)
    # The second row fails mid-update, after the first was added to the writer.
    bad = [
        IndexRow("alpha:9", "alpha", "Zephyr telescope"),
        IndexRow("alpha:10", "alpha", "", date_ord="not a date"),  # type: ignore[arg-type]
    ]
    with pytest.raises(ValueError):
        index.apply([DocVersion("alpha", "v2", bad)])
    reopened = LexicalIndex(tmp_path)
    for view in (index, reopened):
        assert view.versions()["alpha"] == "v1"
        assert [h[0] for h in view.search("lyon zephyr", 5)] == ["alpha:0"]


KILLED_WRITER = """
import sys
from pathlib import Path
from vectorstore.lexical import DocVersion, IndexRow, LexicalIndex
index = LexicalIndex(Path(sys.argv[1]))
index.apply([DocVersion("small", "v1", [IndexRow("small:0", "small", "kept harbour text")])])
rows = [IndexRow(f"big:{i}", "big", f"lost words number w{i} harbour") for i in range(400000)]
print("applying", flush=True)
index.apply([DocVersion("big", "v1", rows)])
print("done", flush=True)
"""


@pytest.mark.slow
def test_sigkill_during_an_update_leaves_the_previous_state_readable(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(tmp_path)],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"applying"
    time.sleep(1.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL, "the update finished before it was killed"
    index = LexicalIndex(tmp_path)
    assert index.versions() == {"small": "v1"}
    assert [h[0] for h in index.search("harbour", 5)] == ["small:0"]
    assert index.search("lost", 5) == []
    # And it still takes writes: the lock died with the process.
    index.apply([DocVersion("next", "v1", [IndexRow("next:0", "next", "harbour pilot")])])
    assert len(index.search("harbour", 5)) == 2


def test_in_memory_index_without_a_folder() -> None:
    index = filled(None)
    assert index.search("danube", 2) == [("beta:0", pytest.approx(index.search("danube", 2)[0][1]))]
