"""report.html: one self-contained page (inline CSS, charts as base64 PNG, no script, no
external URL), so it can be mailed or archived as one file and opened offline.

Every answer cell is coloured by its outcome: correct, wrong, refused rightly, refused
wrongly, or answered but not judgeable (grey): a wrong answer is never green.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from typing import Any

from qa.evaluation.metrics import OUTCOMES, is_gold_sentence, score_row
from qa.evaluation.plots import Summary, report_figures, support_histogram
from qa.evaluation.support import support_scores
from qa.evaluation.tables import (
    METRICS_NOTE,
    Pairs,
    column_names,
    merged_cells,
    meta_items,
    signal_note,
    signal_tables,
)

#: What each outcome means, for the legend.
OUTCOME_LABELS = {
    "correct": "answered, holds the expected strings",
    "wrong": "answered, but without the expected strings, or a question it cannot answer",
    "refused-right": "refused a question the documents do not answer",
    "refused-wrong": "refused a question the documents answer",
    "answered": "answered; the item has no expected strings to judge it by",
}

_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1200px;color:#1f2328}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #d0d7de;padding:.3rem .6rem;
vertical-align:top;text-align:left}th{background:#f6f8fa}td.num{text-align:right}
tr.group td{background:#f6f8fa;font-weight:600}img{max-width:100%}
figure{display:inline-block;margin:.5rem}.quotes{font-size:.9em;color:#57606a;margin:.3rem 0 0}
.q{max-width:20rem}.verdict{font-size:.9em;font-weight:600}
.correct{background:#dafbe1}.wrong{background:#ffebe9}.refused-right{background:#ddf4ff}
.refused-wrong{background:#fff1e5}.answered{background:#f6f8fa}
"""


def html_page(
    rows: Sequence[Mapping[str, Any]],
    summaries: Mapping[str, Summary],
    meta: Mapping[str, Any],
    signal: Mapping[str, Any] | None,
    pairs: Pairs | None,
) -> str:
    """The whole page: meta, metric table, charts, signal and the per-question table."""
    e = html.escape
    parts = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        f"<title>citeqa evaluation: {e(str(meta.get('dataset', '')))}</title>",
        f"<style>{_CSS}</style></head><body><h1>citeqa evaluation</h1><table>",
    ]
    parts += [f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in meta_items(meta)]
    parts.append(f"</table><h2>Metrics</h2><p>{e(METRICS_NOTE)}</p>")
    parts += _metrics(summaries, pairs)
    parts.append("<h2>Charts</h2>")
    parts += [_img(title, chart) for title, chart in report_figures(rows, summaries)]
    if signal is not None:
        parts += _signal(rows, signal)
    parts.append("<h2>Questions</h2>")
    parts += _legend()
    parts += _questions(rows, list(summaries))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _metrics(summaries: Mapping[str, Summary], pairs: Pairs | None) -> list[str]:
    """The side-by-side metric table, with the paired difference column when given."""
    e = html.escape
    columns = column_names(summaries, pairs)
    header = "".join(f"<th>{e(c)}</th>" for c in columns)
    parts = [f"<table><tr><th>metric</th>{header}</tr>"]
    group = None
    for g, name, cells in merged_cells(summaries, pairs):
        if g != group:
            group = g
            parts.append(f'<tr class="group"><td colspan="{len(columns) + 1}">{e(g)}</td></tr>')
        values = "".join(f'<td class="num">{e(c)}</td>' for c in cells)
        parts.append(f"<tr><td>{e(name)}</td>{values}</tr>")
    return [*parts, "</table>"]


def _signal(rows: Sequence[Mapping[str, Any]], signal: Mapping[str, Any]) -> list[str]:
    """The abstention-signal section: a note, its tables and the support histogram."""
    e = html.escape
    parts = ["<h2>Abstention signal</h2>", f"<p>{e(signal_note(signal))}</p>"]
    for header, body in signal_tables(signal):
        parts.append("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr>")
        parts += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in body]
        parts.append("</table>")
    answerable, unanswerable = support_scores(rows)
    lines = {
        "current": float(signal["current"]["threshold"]),
        "goal": float(signal["goal_threshold"]["threshold"]),
    }
    chart = support_histogram(answerable, unanswerable, lines)
    return [*parts, _img("support score per class", chart)]


def _img(title: str, data: bytes) -> str:
    """An inline PNG figure with its caption."""
    e = html.escape
    encoded = base64.b64encode(data).decode("ascii")
    return (
        f'<figure><img alt="{e(title)}" src="data:image/png;base64,{encoded}">'
        f"<figcaption>{e(title)}</figcaption></figure>"
    )


def _legend() -> list[str]:
    """One coloured cell per outcome, saying what it means."""
    e = html.escape
    cells = "".join(
        f'<td class="{name}">{e(name)}: {e(OUTCOME_LABELS[name])}</td>' for name in OUTCOMES
    )
    return [f"<table><tr>{cells}</tr></table>"]


def _questions(rows: Sequence[Mapping[str, Any]], systems: list[str]) -> list[str]:
    """One table row per question: the question (and earlier turns) and each system's
    answer, quotes and verdict."""
    e = html.escape
    header = "".join(f"<th>{e(s)}</th>" for s in systems)
    parts = [f"<table><tr><th>question</th>{header}</tr>"]
    by_question: dict[str, dict[str, Mapping[str, Any]]] = {}
    for row in rows:
        by_question.setdefault(str(row["id"]), {})[str(row["system"])] = row
    for qid, answers in by_question.items():
        first = next(iter(answers.values()))
        kind = "answerable" if first["answerable"] else "unanswerable"
        earlier = "".join(f"{e(str(q))}<br>" for q in first.get("history") or [])
        question = f"{earlier}{e(str(first['question']))}<br><small>{e(qid)} · {kind}</small>"
        cells = "".join(_answer_cell(answers.get(s)) for s in systems)
        parts.append(f'<tr><td class="q">{question}</td>{cells}</tr>')
    return [*parts, "</table>"]


def _answer_cell(row: Mapping[str, Any] | None) -> str:
    """One system's answer, its citations' quotes and the verdict, escaped and coloured."""
    if row is None:
        return "<td></td>"
    e = html.escape
    scores = score_row(row)
    gold = row.get("gold_evidence") or []
    quotes = "".join(
        f"<li>[{e(str(c['marker']))}] {e(c['quote'])}"
        f"{' (gold sentence)' if is_gold_sentence(c['quote'], gold) else ''}</li>"
        for c in row.get("citations", [])
    )
    cited = f'<ol class="quotes">{quotes}</ol>' if quotes else ""
    verdict = f'<span class="verdict">{e(_verdict(scores))}</span>'
    return f'<td class="{scores["outcome"]}">{e(str(row["answer"]))}{cited}<br>{verdict}</td>'


def _verdict(scores: Mapping[str, Any]) -> str:
    """A one-line verdict: the outcome and the answer and citation scores that apply."""
    parts = [str(scores["outcome"])]
    flags = {"contains_expected": "expected", "citation_recall": "cites a gold sentence"}
    parts += [
        f"{label} {'✓' if scores[k] else '✗'}"
        for k, label in flags.items()
        if scores[k] is not None
    ]
    numbers = {
        "token_f1": "F1",
        "sentence_precision": "sentence precision",
        "claim_support": "claims supported",
    }
    parts += [f"{label} {scores[k]:.2f}" for k, label in numbers.items() if scores[k] is not None]
    return "; ".join(parts)
