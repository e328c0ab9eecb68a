"""Evaluation output: the results.jsonl log, summary.json, report.md and report.html.

``report.html`` is self-contained (inline CSS, figures as base64 PNG, no external URL) so it
can be mailed or archived as one file and opened offline.
"""

from __future__ import annotations

import base64
import html
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from qa.evaluation.metrics import METRIC_GROUPS, score_row
from qa.evaluation.plots import Summary, fmt, report_figures, support_histogram
from qa.evaluation.support import support_scores

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
) -> None:
    """Write summary.json, report.md and report.html for a run of one or more systems.

    ``signal`` is the abstention-signal analysis (:func:`qa.evaluation.support.analyze`),
    reported in its own section when given.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    payload = {"meta": dict(meta), "systems": dict(summaries)}
    if signal is not None:
        payload["abstention_signal"] = dict(signal)
    text = json.dumps(payload, indent=2, ensure_ascii=False, default=str)
    (out / SUMMARY).write_text(text + "\n", encoding="utf-8")
    (out / "report.md").write_text(_markdown(summaries, meta, signal), encoding="utf-8")
    (out / "report.html").write_text(_html(rows, summaries, meta, signal), encoding="utf-8")


def metric_rows(summary: Summary) -> list[tuple[str, str, float | None, int | None]]:
    """(group, metric, value, n) for every scalar of a summary, in report order."""
    n = summary.get("n", {})
    table = [
        (group, name, summary.get(name), n.get(name))
        for group, names in METRIC_GROUPS.items()
        for name in names
    ]
    for stage, stats in summary.get("latency", {}).items():
        table += [("latency", f"{stage} {p} (s)", stats[p], None) for p in ("p50", "p95")]
    for field in ("llm_calls", "tokens"):
        table += [
            ("cost", f"{field} {agg}", summary.get(f"{field}_{agg}"), None)
            for agg in ("total", "mean")
        ]
    return table


def merged_cells(summaries: Mapping[str, Summary]) -> list[tuple[str, str, list[str]]]:
    """(group, metric, one formatted cell per system) over the union of the systems' metrics."""
    cells: dict[tuple[str, str], dict[str, str]] = {}
    for system, summary in summaries.items():
        for group, name, value, n in metric_rows(summary):
            shown = fmt(value) + (f" (n={n})" if n is not None else "")
            cells.setdefault((group, name), {})[system] = shown
    return [(g, m, [by.get(s, "") for s in summaries]) for (g, m), by in cells.items()]


def _markdown(
    summaries: Mapping[str, Summary], meta: Mapping[str, Any], signal: Mapping[str, Any] | None
) -> str:
    """report.md: the run's meta, a side-by-side metric table and the abstention signal."""
    systems = list(summaries)
    lines = [f"# citeqa evaluation: {meta.get('dataset', '')}", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {md_cell(v)} |" for k, v in _meta_items(meta)]
    lines += ["", "## Metrics", "", "| metric | " + " | ".join(systems) + " |"]
    lines.append("|---|" + "---:|" * len(systems))
    group = None
    for g, name, cells in merged_cells(summaries):
        if g != group:
            group = g
            lines.append(f"| **{g}** |" + " |" * len(systems))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if signal is not None:
        lines += ["", "## Abstention signal", "", _signal_note(signal)]
        for header, body in _signal_tables(signal):
            lines += [
                "",
                "| " + " | ".join(header) + " |",
                "|---" + "|---:" * (len(header) - 1) + "|",
            ]
            lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines) + "\n"


def _signal_note(signal: Mapping[str, Any]) -> str:
    """A few sentences on what the abstention-signal tables show."""
    return (
        f"citeqa's top evidence score (`support`) on {signal['n_answerable']} answerable and "
        f"{signal['n_unanswerable']} unanswerable questions. citeqa abstains when it is below "
        "the threshold (with a model, also when the model declines on weak evidence), so the "
        "rates below are exactly the extractive mode's. "
        f"AUC {fmt(signal['auc'])} (0.5: no separation, 1: a threshold separates perfectly)."
    )


def _signal_tables(signal: Mapping[str, Any]) -> list[tuple[list[str], list[list[str]]]]:
    """(header, rows) of the support deciles per class and of the candidate thresholds."""
    deciles = signal["deciles"]
    decile_rows = [
        [f"p{p}", fmt(a), fmt(u)]
        for p, a, u in zip(
            deciles["percentile"], deciles["answerable"], deciles["unanswerable"], strict=True
        )
    ]
    labels = {
        "current": "current (settings.min_support)",
        "goal_threshold": "most abstained with <= 10% wrongly abstained",
        "balanced_threshold": "best abstained minus wrongly abstained",
    }
    threshold_rows = [
        [
            label,
            f"{signal[key]['threshold']:.3f}",
            fmt(signal[key]["abstention_unanswerable"]),
            fmt(signal[key]["wrong_abstention_answerable"]),
        ]
        for key, label in labels.items()
    ]
    return [
        (["support percentile", "answerable", "unanswerable"], decile_rows),
        (["threshold", "value", "abstained (unanswerable)", "wrongly abstained (answerable)"],
         threshold_rows),
    ]  # fmt: skip


def md_cell(value: Any) -> str:
    """A value made safe for a markdown table cell."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def _meta_items(meta: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Meta entries as text, with dataset, mode, date and command first; a mapping (the
    settings) reads ``key=value, ...``."""
    first = [k for k in ("dataset", "mode", "date", "command") if k in meta]
    items = [(k, meta[k]) for k in first + [k for k in meta if k not in first]]
    return [
        (k, ", ".join(f"{n}={x}" for n, x in v.items()) if isinstance(v, Mapping) else str(v))
        for k, v in items
    ]


_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1200px;color:#1f2328}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #d0d7de;padding:.3rem .6rem;
vertical-align:top;text-align:left}th{background:#f6f8fa}td.num{text-align:right}
tr.group td{background:#f6f8fa;font-weight:600}img{max-width:100%}
figure{display:inline-block;margin:.5rem}.quotes{font-size:.9em;color:#57606a;margin:.3rem 0 0}
.ok{color:#1a7f37}.bad{color:#cf222e}.q{max-width:20rem}
"""


def _html(
    rows: Sequence[Mapping[str, Any]],
    summaries: Mapping[str, Summary],
    meta: Mapping[str, Any],
    signal: Mapping[str, Any] | None,
) -> str:
    """report.html: meta, metric table, charts and the per-question table, all inline."""
    e = html.escape
    parts = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        f"<title>citeqa evaluation: {e(str(meta.get('dataset', '')))}</title>",
        f"<style>{_CSS}</style></head><body><h1>citeqa evaluation</h1><table>",
    ]
    parts += [f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in _meta_items(meta)]
    parts.append("</table><h2>Metrics</h2>")
    parts += _html_metrics(summaries)
    parts.append("<h2>Charts</h2>")
    parts += [_img(title, chart) for title, chart in report_figures(rows, summaries)]
    if signal is not None:
        parts += _html_signal(rows, signal)
    parts.append("<h2>Questions</h2>")
    parts += _html_questions(rows, list(summaries))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _html_signal(rows: Sequence[Mapping[str, Any]], signal: Mapping[str, Any]) -> list[str]:
    """The abstention-signal section: a note, its tables and the support histogram."""
    e = html.escape
    parts = ["<h2>Abstention signal</h2>", f"<p>{e(_signal_note(signal))}</p>"]
    for header, body in _signal_tables(signal):
        parts.append("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr>")
        parts += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in body]
        parts.append("</table>")
    answerable, unanswerable = support_scores(rows)
    lines = {
        "current": float(signal["current"]["threshold"]),
        "goal": float(signal["goal_threshold"]["threshold"]),
    }
    chart = support_histogram(answerable, unanswerable, lines)
    title = "support score per class"
    return [*parts, _img(title, chart)]


def _img(title: str, data: bytes) -> str:
    """An inline PNG figure with its caption."""
    e = html.escape
    return (
        f'<figure><img alt="{e(title)}" src="data:image/png;base64,{_b64(data)}">'
        f"<figcaption>{e(title)}</figcaption></figure>"
    )


def _html_metrics(summaries: Mapping[str, Summary]) -> list[str]:
    """The side-by-side metric table."""
    e = html.escape
    header = "".join(f"<th>{e(s)}</th>" for s in summaries)
    parts = [f"<table><tr><th>metric</th>{header}</tr>"]
    group = None
    for g, name, cells in merged_cells(summaries):
        if g != group:
            group = g
            parts.append(f'<tr class="group"><td colspan="{len(summaries) + 1}">{e(g)}</td></tr>')
        values = "".join(f'<td class="num">{e(c)}</td>' for c in cells)
        parts.append(f"<tr><td>{e(name)}</td>{values}</tr>")
    return [*parts, "</table>"]


def _html_questions(rows: Sequence[Mapping[str, Any]], systems: list[str]) -> list[str]:
    """One table row per question: the question and each system's answer, quotes and verdict."""
    e = html.escape
    header = "".join(f"<th>{e(s)}</th>" for s in systems)
    parts = [f"<table><tr><th>question</th>{header}</tr>"]
    by_question: dict[str, dict[str, Mapping[str, Any]]] = {}
    for row in rows:
        by_question.setdefault(str(row["id"]), {})[str(row["system"])] = row
    for qid, answers in by_question.items():
        first = next(iter(answers.values()))
        kind = "answerable" if first["answerable"] else "unanswerable"
        question = f"{e(str(first['question']))}<br><small>{e(qid)} · {kind}</small>"
        cells = "".join(_answer_cell(answers.get(s)) for s in systems)
        parts.append(f'<tr><td class="q">{question}</td>{cells}</tr>')
    return [*parts, "</table>"]


def _b64(data: bytes) -> str:
    """Base64 text for a data: URL."""
    return base64.b64encode(data).decode("ascii")


def _answer_cell(row: Mapping[str, Any] | None) -> str:
    """One system's answer, its citations' quotes and the verdict, escaped."""
    if row is None:
        return "<td></td>"
    e = html.escape
    scores = score_row(row)
    good = scores["outcome"] in ("answered", "abstained")
    quotes = "".join(
        f"<li>[{e(str(c['marker']))}] {e(c['quote'])}{' ✓' if c.get('verified') else ''}</li>"
        for c in row.get("citations", [])
    )
    verdict = f'<span class="{"ok" if good else "bad"}">{e(_verdict(scores))}</span>'
    cited = f'<ol class="quotes">{quotes}</ol>' if quotes else ""
    return f"<td>{e(str(row['answer']))}{cited}<br>{verdict}</td>"


def _verdict(scores: Mapping[str, Any]) -> str:
    """A one-line verdict: the outcome and the answer and citation scores that apply."""
    parts = [str(scores["outcome"])]
    flags = {"contains_expected": "expected", "exact_sentence": "exact sentence"}
    parts += [
        f"{label} {'✓' if scores[k] else '✗'}"
        for k, label in flags.items()
        if scores[k] is not None
    ]
    numbers = {"token_f1": "F1", "citation_precision": "citation precision"}
    parts += [f"{label} {scores[k]:.2f}" for k, label in numbers.items() if scores[k] is not None]
    return "; ".join(parts)
