"""report.html: one self-contained page (inline CSS, charts as base64 PNG, no script, no
external URL), so it can be mailed or archived as one file and opened offline.

The page is the Jinja2 template ``templates/report.html.j2`` (package data), rendered with
autoescaping on: this module only gathers plain values, the template lays them out, and no
value reaches the page unescaped.

Every answer cell is coloured by its outcome: correct, wrong, refused rightly, refused
wrongly, or answered but not judgeable (grey): a wrong answer is never green.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import jinja2

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


@cache
def template() -> jinja2.Template:
    """The page template, loaded from the installed package (a wheel included)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("qa.evaluation", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html.j2")


def html_page(
    rows: Sequence[Mapping[str, Any]],
    summaries: Mapping[str, Summary],
    meta: Mapping[str, Any],
    signal: Mapping[str, Any] | None,
    pairs: Pairs | None,
) -> str:
    """The whole page: meta, metric table, charts, signal and the per-question table."""
    return template().render(
        dataset=str(meta.get("dataset", "")),
        meta=meta_items(meta),
        metrics_note=METRICS_NOTE,
        columns=column_names(summaries, pairs),
        metric_groups=_metric_groups(summaries, pairs),
        charts=[_chart(title, png) for title, png in report_figures(rows, summaries)],
        signal=_signal(rows, signal) if signal is not None else None,
        legend=[(name, OUTCOME_LABELS[name]) for name in OUTCOMES],
        systems=list(summaries),
        questions=_questions(rows, list(summaries)),
    )


def _metric_groups(summaries: Mapping[str, Summary], pairs: Pairs | None) -> list[dict[str, Any]]:
    """The metric table's rows under their group headings, in order."""
    groups: list[dict[str, Any]] = []
    for group, name, cells in merged_cells(summaries, pairs):
        if not groups or groups[-1]["name"] != group:
            groups.append({"name": group, "rows": []})
        groups[-1]["rows"].append((name, cells))
    return groups


def _chart(title: str, png: bytes) -> dict[str, str]:
    return {"title": title, "data": base64.b64encode(png).decode("ascii")}


def _signal(rows: Sequence[Mapping[str, Any]], signal: Mapping[str, Any]) -> dict[str, Any]:
    """The abstention-signal section: a note, its tables and the support histogram."""
    answerable, unanswerable = support_scores(rows)
    lines = {
        "current": float(signal["current"]["threshold"]),
        "goal": float(signal["goal_threshold"]["threshold"]),
    }
    chart = support_histogram(answerable, unanswerable, lines)
    return {
        "note": signal_note(signal),
        "tables": signal_tables(signal),
        "chart": _chart("support score per class", chart),
    }


def _questions(rows: Sequence[Mapping[str, Any]], systems: list[str]) -> list[dict[str, Any]]:
    """One entry per question: the question (and earlier turns) and each system's answer
    cell (None where a system has no row)."""
    by_question: dict[str, dict[str, Mapping[str, Any]]] = {}
    for row in rows:
        by_question.setdefault(str(row["id"]), {})[str(row["system"])] = row
    out = []
    for qid, answers in by_question.items():
        first = next(iter(answers.values()))
        out.append(
            {
                "id": qid,
                "kind": "answerable" if first["answerable"] else "unanswerable",
                "history": [str(q) for q in first.get("history") or []],
                "question": str(first["question"]),
                "cells": [_answer_cell(answers.get(s)) for s in systems],
            }
        )
    return out


def _answer_cell(row: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """One system's answer, its citations' quotes (marked when gold) and the verdict."""
    if row is None:
        return None
    scores = score_row(row)
    gold = row.get("gold_evidence") or []
    quotes = [
        (str(c["marker"]), str(c["quote"]), is_gold_sentence(c["quote"], gold))
        for c in row.get("citations", [])
    ]
    return {
        "outcome": scores["outcome"],
        "answer": str(row["answer"]),
        "quotes": quotes,
        "verdict": _verdict(scores),
    }


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
    if scores.get("cited_age_days") is not None:
        # The date of the cited article against the question's date.
        parts.append(f"cited article {scores['cited_age_days']} days before the question")
    return "; ".join(parts)
