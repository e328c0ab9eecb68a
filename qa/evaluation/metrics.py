"""Evaluation metrics: pure functions from result rows to per-question verdicts and run summaries.

Every rate is ``None`` when its denominator is empty, so "not measured" never reads as 0, and
comes with ``n`` and a 95% interval (:mod:`qa.evaluation.stats`).
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any, Protocol

from pydantic import BaseModel, Field

from qa.evaluation.matching import check_claims, contains_expected, same_sentence
from qa.evaluation.ranking import (
    dedupe,
    doc_matches,
    hit_at_k,
    mrr_at_k,
    ndcg_at_k,
    ranked_doc_keys,
)
from qa.evaluation.stats import mean_ci, paired_difference

RETRIEVAL_KS = (1, 4, 10)
#: The depth of the MRR and nDCG cut-off.
RANK_K = 10

#: Scalar metrics of a summary, grouped as the report charts them.
RETRIEVAL = ("hit@1", "hit@4", "hit@10", f"mrr@{RANK_K}", f"ndcg@{RANK_K}")
#: Suffix of the retrieval metrics restricted to answerable questions.
ANSWERABLE = " (answerable)"
METRIC_GROUPS: dict[str, tuple[str, ...]] = {
    "retrieval": RETRIEVAL,
    # An unanswerable question's gold is an on-topic passage *without* the answer, which
    # other passages may rightly outrank; answerable questions alone show finding the answer.
    "retrieval (answerable)": tuple(name + ANSWERABLE for name in RETRIEVAL),
    "answers": ("contains_expected", "token_f1", "rouge_l"),
    "citations": (
        "sentence_precision",
        "citation_recall",
        "first_citation_gold",
        "claim_support",
        "citation_doc_precision",
    ),
    "abstention": ("abstention_unanswerable", "wrong_abstention_answerable"),
    # Dated questions only: news answers should rest on the news of the question's week.
    "time": ("cited_within_14d",),
}
#: A cited article at most this many days older than the question counts as current.
RECENT_DAYS = 14
#: Per-question outcomes, as the HTML report colours them.
OUTCOMES = ("correct", "wrong", "refused-right", "refused-wrong", "answered")


class CitationLike(Protocol):
    """What citation metrics read: a row's citation or a ``qa.types.Citation``."""

    marker: int
    doc_id: str
    source: str
    quote: str


class RowCitation(BaseModel):
    """A citation as recorded in a result row."""

    marker: int
    doc_id: str
    source: str = ""
    quote: str
    support: float | None = None
    date: str | None = None


class RowDoc(BaseModel):
    """The document of one retrieved chunk."""

    doc_id: str
    source: str = ""


class ResultRow(BaseModel):
    """One question answered by one system, as the runner writes it to ``results.jsonl``.

    Schema (one JSON object a line)::

        {"id": str, "system": "citeqa" | "baseline", "question": str, "answerable": bool,
         "expected": [str], "any": [str], "reference": str | null, "gold_doc": [str],
         "gold_evidence": [str], "history": [str],  # earlier user turns, asked first
         "history_answers": [str],                  # the system's answers to them
         "answer": str, "abstained": bool,
         "citations": [{"marker", "doc_id", "source", "quote", "support"}],
         "retrieved": [{"doc_id", "source"}],       # `depth` ranked chunks, best first
         "depth": int | null,                       # chunks ranked for retrieval metrics
         "answer_depth": int | null,                # chunks the answer was drawn from
         "timings": {stage: seconds, ..., "total": seconds},
         "llm_calls": int, "tokens": int,            # over every turn of the conversation
         "support": float | null,                   # citeqa only: the gate's probability
         "gate": str | null}                        # citeqa only: the gate's reason

    ``support`` is the probability citeqa's calibrated gate gives that the evidence answers
    (``Answer.trace["gate"]["p"]``), the signal it abstains on below
    ``settings.min_support`` besides its hard rules; null when the gate computed none
    (nothing retrieved, or a backend whose gate only checks the topic). ``gate`` is the
    gate's reason ("supported", "weak evidence", "the question wants a number; ...").
    """

    id: str
    system: str
    question: str
    answerable: bool
    expected: list[str] = Field(default_factory=list)
    any: list[str] = Field(default_factory=list)
    reference: str | None = None
    gold_doc: list[str] = Field(default_factory=list)
    gold_evidence: list[str] = Field(default_factory=list)
    history: list[str] = Field(default_factory=list)
    date: str | None = None
    history_answers: list[str] = Field(default_factory=list)
    answer: str
    abstained: bool
    citations: list[RowCitation] = Field(default_factory=list)
    retrieved: list[RowDoc] = Field(default_factory=list)
    depth: int | None = None
    answer_depth: int | None = None
    timings: dict[str, float] = Field(default_factory=dict)
    llm_calls: int = 0
    tokens: int = 0
    support: float | None = None
    gate: str | None = None


# --- answers ---


def normalize_tokens(text: str) -> list[str]:
    """SQuAD normalization: lowercase, drop punctuation and articles, split on whitespace."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return re.sub(r"\b(a|an|the)\b", " ", text).split()


_PUNCTUATION = frozenset(string.punctuation)


def token_f1(pred: str, ref: str) -> float:
    """SQuAD token-overlap F1 between an answer and a reference answer."""
    p, r = normalize_tokens(pred), normalize_tokens(ref)
    if not p or not r:
        return float(p == r)
    same = sum((Counter(p) & Counter(r)).values())
    return _f_measure(same, len(p), len(r))


def rouge_l(pred: str, ref: str) -> float:
    """ROUGE-L F-measure (beta 1): longest common token subsequence, SQuAD-normalized tokens."""
    p, r = normalize_tokens(pred), normalize_tokens(ref)
    if not p or not r:
        return float(p == r)
    return _f_measure(_lcs_length(p, r), len(p), len(r))


def _lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence, in O(len(a) * len(b)) time and O(len(b)) space."""
    row = [0] * (len(b) + 1)
    for x in a:
        diagonal = 0  # row[j - 1] of the previous pass
        for j, y in enumerate(b, 1):
            above = row[j]
            row[j] = diagonal + 1 if x == y else max(above, row[j - 1])
            diagonal = above
    return row[-1]


def _f_measure(overlap: int, n_pred: int, n_ref: int) -> float:
    """Harmonic mean of overlap/n_pred and overlap/n_ref."""
    if overlap == 0:
        return 0.0
    precision, recall = overlap / n_pred, overlap / n_ref
    return 2 * precision * recall / (precision + recall)


# --- citations ---


def is_gold_sentence(quote: str, gold_evidence: Sequence[str]) -> bool:
    """Whether a quote is one of the gold sentences (the same sentence, not a fragment)."""
    return any(same_sentence(quote, g) for g in gold_evidence)


def sentence_precision(
    citations: Sequence[CitationLike], gold_evidence: Sequence[str]
) -> float | None:
    """Share of the citations whose quote is a gold sentence."""
    return _mean(is_gold_sentence(c.quote, gold_evidence) for c in citations)


def citation_recall(citations: Sequence[CitationLike], gold_evidence: Sequence[str]) -> bool:
    """Whether some citation quotes a gold sentence."""
    return any(is_gold_sentence(c.quote, gold_evidence) for c in citations)


def citation_doc_precision(
    citations: Sequence[CitationLike], gold_docs: Sequence[str]
) -> float | None:
    """Share of the citations that point into a gold document (document level only)."""
    return _mean(any(doc_matches(c.doc_id, c.source, g) for g in gold_docs) for c in citations)


def claim_support(answer: str, citations: Sequence[CitationLike]) -> float | None:
    """Share of the answer's claims whose key terms are all in the quotes their ``[n]``
    markers cite (:func:`qa.evaluation.matching.check_claims`); None without citations."""
    if not citations:
        return None
    checks = check_claims(answer, {c.marker: c.quote for c in citations})
    return _mean(c.supported for c in checks)


# --- abstention ---


def correct_abstention(answerable: bool, abstained: bool) -> bool | None:
    """On an unanswerable question, whether the system abstained (None when answerable)."""
    return None if answerable else abstained


def wrong_abstention(answerable: bool, abstained: bool) -> bool | None:
    """On an answerable question, whether the system wrongly abstained (None otherwise)."""
    return abstained if answerable else None


# --- per question and per run ---


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (0..100) with linear interpolation between ranks; None if empty."""
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be within 0..100, got {p}")
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * p / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def score_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """Per-question verdicts for one result row; a metric that does not apply is None.

    Retrieval metrics at k apply only when the row ranked at least k chunks (``depth``), so
    a metric is never computed over fewer chunks than its name says.
    """
    r = ResultRow.model_validate(row)
    ranked = ranked_doc_keys(((d.doc_id, d.source) for d in r.retrieved), r.gold_doc)
    depth = r.depth or 0
    scores: dict[str, Any] = {
        f"hit@{k}": hit_at_k(ranked, r.gold_doc, k) if k <= depth else None for k in RETRIEVAL_KS
    }
    ranks_ok = depth >= RANK_K
    scores[f"mrr@{RANK_K}"] = mrr_at_k(ranked, r.gold_doc, RANK_K) if ranks_ok else None
    scores[f"ndcg@{RANK_K}"] = ndcg_at_k(ranked, r.gold_doc, RANK_K) if ranks_ok else None
    scores.update({name + ANSWERABLE: scores[name] if r.answerable else None for name in RETRIEVAL})
    correct = contains_expected(r.answer, r.expected, r.any) if r.answerable else None
    scores["contains_expected"] = correct
    scores["token_f1"] = token_f1(r.answer, r.reference) if r.reference is not None else None
    scores["rouge_l"] = rouge_l(r.answer, r.reference) if r.reference is not None else None
    # Citations on an unanswerable question are an abstention failure, counted there.
    gold = r.gold_evidence if r.answerable else []
    scores["sentence_precision"] = sentence_precision(r.citations, gold) if gold else None
    scores["citation_recall"] = citation_recall(r.citations, gold) if gold else None
    first = r.citations[:1]
    scores["first_citation_gold"] = citation_recall(first, gold) if gold else None
    scores["claim_support"] = claim_support(r.answer, r.citations)
    scores["citation_doc_precision"] = (
        citation_doc_precision(r.citations, r.gold_doc) if r.answerable and r.gold_doc else None
    )
    scores["cited_age_days"] = cited_age(r)
    scores["cited_within_14d"] = (
        None if scores["cited_age_days"] is None else 0 <= scores["cited_age_days"] <= RECENT_DAYS
    )
    scores["abstention_unanswerable"] = correct_abstention(r.answerable, r.abstained)
    scores["wrong_abstention_answerable"] = wrong_abstention(r.answerable, r.abstained)
    scores["outcome"] = outcome(r.answerable, r.abstained, correct)
    return scores


def cited_age(row: ResultRow) -> int | None:
    """Days between the question's date and the newest article its answer cites (negative:
    an article from after the question); None for undated questions or no dated citation."""
    cited = [c.date for c in row.citations if c.date]
    if not row.date or not cited:
        return None
    return (date.fromisoformat(row.date) - date.fromisoformat(max(cited))).days


def outcome(answerable: bool, abstained: bool, correct: bool | None) -> str:
    """correct / wrong / refused-right / refused-wrong, or ``answered`` when an answer to an
    answerable question cannot be judged (the item lists no expected strings)."""
    if abstained:
        return "refused-wrong" if answerable else "refused-right"
    if not answerable or correct is False:
        return "wrong"
    return "correct" if correct else "answered"


def summarize(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Aggregate one system's rows: mean of each per-question metric over the rows it applies to.

    Returns the metrics of METRIC_GROUPS, ``n`` (how many questions each metric was averaged
    over), ``ci`` (its 95% interval), ``outcomes`` (questions per outcome), ``depth`` and
    ``answer_depth`` (chunks ranked for retrieval metrics and for answers), ``latency``
    (p50/p95 seconds per stage and total), LLM calls and tokens.
    """
    parsed = [ResultRow.model_validate(row) for row in rows]
    scored = [score_row(row) for row in rows]
    names = metric_names()
    summary: dict[str, Any] = {
        "questions": len(parsed),
        "answerable": sum(r.answerable for r in parsed),
        "unanswerable": sum(not r.answerable for r in parsed),
    }
    values = {name: [float(s[name]) for s in scored if s[name] is not None] for name in names}
    summary.update({name: _mean(values[name]) for name in names})
    summary["n"] = {name: len(values[name]) for name in names}
    summary["ci"] = {name: _pair(mean_ci(values[name])) for name in names}
    counts = Counter(s["outcome"] for s in scored)
    summary["outcomes"] = {name: counts[name] for name in OUTCOMES}
    for field in ("depth", "answer_depth"):
        depths = sorted({getattr(r, field) for r in parsed if getattr(r, field) is not None})
        summary[field] = depths[0] if len(depths) == 1 else depths or None
    summary["latency"] = _latency(parsed)
    for field in ("llm_calls", "tokens"):
        counts_ = [getattr(r, field) for r in parsed]
        summary[f"{field}_total"] = sum(counts_)
        summary[f"{field}_mean"] = _mean(counts_)
    return summary


def metric_names() -> list[str]:
    """Every scalar metric, in report order."""
    return [name for group in METRIC_GROUPS.values() for name in group]


def paired(rows: Sequence[Mapping[str, Any]], a: str, b: str) -> dict[str, dict[str, Any]]:
    """Per metric, system ``a`` minus system ``b`` over the questions both were scored on:
    the mean difference, its 95% interval, and McNemar's p for yes/no verdicts."""
    by_system: dict[str, dict[str, dict[str, Any]]] = {a: {}, b: {}}
    for row in rows:
        if row["system"] in by_system:
            by_system[str(row["system"])][str(row["id"])] = score_row(row)
    shared = [q for q in by_system[a] if q in by_system[b]]
    result = {}
    for name in metric_names():
        both = [
            (by_system[a][q][name], by_system[b][q][name])
            for q in shared
            if by_system[a][q][name] is not None and by_system[b][q][name] is not None
        ]
        result[name] = paired_difference([float(x) for x, _ in both], [float(y) for _, y in both])
    return result


def _pair(ci: tuple[float, float] | None) -> list[float] | None:
    """An interval as a JSON-friendly list."""
    return [ci[0], ci[1]] if ci is not None else None


def _latency(rows: Sequence[ResultRow]) -> dict[str, dict[str, float | None]]:
    """p50 and p95 seconds of every timed stage (and the total), over the rows that timed it."""
    latency = {}
    for stage in dedupe(stage for r in rows for stage in r.timings):
        times = [r.timings[stage] for r in rows if stage in r.timings]
        latency[stage] = {"p50": percentile(times, 50), "p95": percentile(times, 95)}
    return latency


def summarize_systems(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Summaries per system, in order of first appearance."""
    systems = dedupe(str(row["system"]) for row in rows)
    return {name: summarize([row for row in rows if row["system"] == name]) for name in systems}


def _mean(values: Iterable[float | bool | None]) -> float | None:
    """Mean of the values that are not None; None when there are none."""
    present = [float(v) for v in values if v is not None]
    return sum(present) / len(present) if present else None
