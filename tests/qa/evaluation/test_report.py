"""results.jsonl I/O, the written report files, and run comparison."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from qa.evaluation.compare import compare
from qa.evaluation.metrics import paired, summarize, summarize_systems
from qa.evaluation.report import append_row, read_rows, write_report

META = {"dataset": "synthetic", "mode": "extractive", "date": "2025-01-01", "command": "citeqa"}


def rows() -> list[dict[str, Any]]:
    """Two questions answered by two systems; citeqa's answer carries a script tag."""
    out = []
    for system in ("citeqa", "baseline"):
        for qid, answerable in (("q1", True), ("q2", False)):
            good = system == "citeqa"
            out.append(
                {
                    "id": qid,
                    "system": system,
                    "question": f"Question {qid} <b>bold</b>?",
                    "answerable": answerable,
                    "expected": ["Juan"] if answerable else [],
                    "reference": "Juan led it." if answerable else None,
                    "gold_doc": ["d1"],
                    "gold_evidence": ["Juan led the talks."] if answerable else [],
                    "answer": "<script>alert(1)</script> Juan led it [1]." if good else "No idea.",
                    "abstained": not good,
                    "citations": [
                        {
                            "marker": 1,
                            "doc_id": "d1",
                            "source": "d1.txt",
                            "quote": "Juan led the talks & <more>.",
                            "support": 0.8,
                        }
                    ]
                    if good
                    else [],
                    "retrieved": [{"doc_id": "d1", "source": "d1.txt"}],
                    "depth": 10,
                    "timings": {"retrieve": 0.05, "generate": 0.5 if good else 0.2, "total": 0.6},
                    "llm_calls": 1 if good else 0,
                    "tokens": 20 if good else 0,
                }
            )
    return out


def test_rows_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "run" / "results.jsonl"
    assert read_rows(path) == []
    for r in rows():
        append_row(path, r)
    assert read_rows(path) == rows()


def test_truncated_last_line_is_skipped_then_replaced(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    append_row(path, {"id": "q1"})
    with path.open("a") as handle:
        handle.write('{"id": "q2", "ans')  # killed mid-write
    assert read_rows(path) == [{"id": "q1"}]
    append_row(path, {"id": "q2"})
    assert read_rows(path) == [{"id": "q1"}, {"id": "q2"}]
    assert path.read_text() == '{"id": "q1"}\n{"id": "q2"}\n'


def test_line_cut_inside_a_character_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    append_row(path, {"id": "q1", "answer": "Caracas"})
    line = json.dumps({"id": "q2", "answer": "Miraflores – café"}, ensure_ascii=False)
    with path.open("ab") as handle:
        handle.write(line.encode("utf-8")[:-3])  # cut between the two bytes of "é"
    assert read_rows(path) == [{"id": "q1", "answer": "Caracas"}]
    append_row(path, {"id": "q2"})
    assert [r["id"] for r in read_rows(path)] == ["q1", "q2"]


def test_complete_last_line_without_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text('{"id": "q1"}')  # killed between the row and its newline
    assert read_rows(path) == [{"id": "q1"}]
    append_row(path, {"id": "q2"})
    assert read_rows(path) == [{"id": "q1"}, {"id": "q2"}]


def test_corrupt_middle_line_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text('{"id": "q1"}\n{"id": \n{"id": "q3"}\n')
    with pytest.raises(ValueError, match=r"results\.jsonl:2"):
        read_rows(path)


def test_write_report(tmp_path: Path) -> None:
    data = rows()
    pairs = paired(data, "citeqa", "baseline")
    write_report(tmp_path, data, summarize_systems(data), META, None, pairs)

    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["meta"] == META
    assert summary["systems"]["citeqa"]["abstention_unanswerable"] == 0.0
    assert summary["systems"]["baseline"]["abstention_unanswerable"] == 1.0
    assert summary["paired"]["metrics"]["abstention_unanswerable"]["diff"] == -1.0

    md = (tmp_path / "report.md").read_text()
    assert "| metric | citeqa | baseline | citeqa − baseline |" in md
    cell = "1.000 [0.342, 1.000] (n=2)"  # Wilson interval of 2 of 2
    assert f"| hit@1 | {cell} | {cell} | +0.000 [+0.000, +0.000] p=1 (n=2) |" in md
    assert "| abstention_unanswerable | 0.000 [0.000, 0.793] (n=1) |" in md

    page = (tmp_path / "report.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.IGNORECASE)
    assert "http://" not in page and "https://" not in page
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Juan led the talks &amp; &lt;more&gt;." in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page
    assert page.count('src="data:image/png;base64,') == 6  # 5 metric groups + latency
    assert "citeqa − baseline" in page


def test_html_rows_are_coloured_by_outcome(tmp_path: Path) -> None:
    data = rows()
    wrong = data[0] | {"id": "q3", "answer": "Pedro led it [1]."}
    refused = data[0] | {"id": "q4", "answer": "I could not find this.", "abstained": True}
    data += [wrong, refused]
    write_report(tmp_path, data, summarize_systems(data), META)
    page = (tmp_path / "report.html").read_text()
    cells = re.findall(r'<td class="([a-z-]+)">', page.split("<h2>Questions</h2>")[1])
    legend, answers = cells[:5], [c for c in cells[5:] if c != "q"]
    assert legend == ["correct", "wrong", "refused-right", "refused-wrong", "answered"]
    # q1: citeqa right, baseline refused it; q2: citeqa answered an unanswerable question,
    # the baseline refused it; q3 and q4 only citeqa
    assert answers == [
        "correct",
        "refused-wrong",
        "wrong",
        "refused-right",
        "wrong",
        "refused-wrong",
    ]


def test_write_report_of_an_empty_run(tmp_path: Path) -> None:
    write_report(tmp_path, [], {"citeqa": summarize([])}, {"dataset": "empty"})
    assert "n/a" in (tmp_path / "report.md").read_text()
    assert (tmp_path / "report.html").exists()


def test_compare(tmp_path: Path) -> None:
    data = rows()
    write_report(tmp_path / "a", data, summarize_systems(data), META)
    better = [r | {"abstained": True} if not r["answerable"] else r for r in data]
    write_report(tmp_path / "b", better, summarize_systems(better), META)

    text = compare(tmp_path / "a", tmp_path / "b", tmp_path / "cmp")
    line = next(x for x in text.splitlines() if "citeqa" in x and "abstention_unanswerable" in x)
    assert line.split()[-3:] == ["0.000", "1.000", "+1.000"]
    assert "baseline" in text
    assert (
        "| citeqa | abstention_unanswerable | 0.000 | 1.000 | +1.000 |"
        in (tmp_path / "cmp" / "compare.md").read_text()
    )
    assert (tmp_path / "cmp" / "compare.png").read_bytes().startswith(b"\x89PNG")
