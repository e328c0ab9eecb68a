"""Evaluation output: the results.jsonl log, summary.json, report.md and report.html.

``report.html`` is self-contained (inline CSS, figures as base64 PNG, no external URL) so it
can be mailed or archived as one file and opened offline.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from qa.evaluation.plots import Summary
from qa.evaluation.report_html import html_page
from qa.evaluation.tables import (
    DIFF,
    METRICS_NOTE,
    Pairs,
    column_names,
    md_cell,
    merged_cells,
    meta_items,
    signal_note,
    signal_tables,
)

SUMMARY = "summary.json"


# --- results.jsonl ---


def append_row(path: Path | str, row: Mapping[str, Any]) -> None:
    """Append one result row durably (flush + fsync), so a killed run can resume from the file.

    A partial last line left by a kill is completed when it is valid JSON and dropped when it
    is not, the same rule read_rows applies, so the row it held is redone, never glued on.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("a+b") as handle:
        _repair_tail(handle)
        handle.write((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())


def read_rows(path: Path | str) -> list[dict[str, Any]]:
    """Read result rows; a missing file is empty, and a truncated last line is skipped."""
    source = Path(path)
    if not source.exists():
        return []
    lines = source.read_bytes().split(b"\n")
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except ValueError as exc:  # JSON or UTF-8 decoding
            if number == len(lines):  # no newline after it: the write was cut short
                break
            raise ValueError(f"{source}:{number}: invalid result row: {exc}") from exc
    return rows


def _repair_tail(handle: BinaryIO) -> None:
    """Complete or drop a last line that has no newline; reads the file only in that case."""
    size = handle.seek(0, os.SEEK_END)
    if size == 0:
        return
    handle.seek(size - 1)
    if handle.read(1) == b"\n":
        return
    handle.seek(0)
    data = handle.read()
    tail = data[data.rfind(b"\n") + 1 :]
    if _parses(tail):
        handle.write(b"\n")
    else:
        handle.truncate(size - len(tail))


def _parses(data: bytes) -> bool:
    """Whether bytes hold one JSON value."""
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


# --- summary.json, report.md, report.html ---


def write_report(
    out_dir: Path | str,
    rows: Sequence[Mapping[str, Any]],
    summaries: Mapping[str, Summary],
    meta: Mapping[str, Any],
    signal: Mapping[str, Any] | None = None,
    pairs: Pairs | None = None,
) -> None:
    """Write summary.json, report.md and report.html for a run of one or more systems.

    ``signal`` is the abstention-signal analysis (:func:`qa.evaluation.support.analyze`),
    reported in its own section when given; ``pairs`` the paired citeqa − baseline
    differences (:func:`qa.evaluation.metrics.paired`), printed beside the metrics.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    payload: dict[str, Any] = {"meta": dict(meta), "systems": dict(summaries)}
    if pairs is not None:
        payload["paired"] = {"systems": DIFF, "metrics": dict(pairs)}
    if signal is not None:
        payload["abstention_signal"] = dict(signal)
    text = json.dumps(payload, indent=2, ensure_ascii=False, default=str)
    (out / SUMMARY).write_text(text + "\n", encoding="utf-8")
    (out / "report.md").write_text(_markdown(summaries, meta, signal, pairs), encoding="utf-8")
    page = html_page(rows, summaries, meta, signal, pairs)
    (out / "report.html").write_text(page, encoding="utf-8")


def _markdown(
    summaries: Mapping[str, Summary],
    meta: Mapping[str, Any],
    signal: Mapping[str, Any] | None,
    pairs: Pairs | None,
) -> str:
    """report.md: the run's meta, a side-by-side metric table and the abstention signal."""
    columns = column_names(summaries, pairs)
    lines = [f"# citeqa evaluation: {meta.get('dataset', '')}", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {md_cell(v)} |" for k, v in meta_items(meta)]
    lines += ["", "## Metrics", "", METRICS_NOTE, "", "| metric | " + " | ".join(columns) + " |"]
    lines.append("|---|" + "---:|" * len(columns))
    group = None
    for g, name, cells in merged_cells(summaries, pairs):
        if g != group:
            group = g
            lines.append(f"| **{g}** |" + " |" * len(columns))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if signal is not None:
        lines += ["", "## Abstention signal", "", signal_note(signal)]
        for header, body in signal_tables(signal):
            lines += [
                "",
                "| " + " | ".join(header) + " |",
                "|---" + "|---:" * (len(header) - 1) + "|",
            ]
            lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines) + "\n"
