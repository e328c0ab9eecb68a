"""Evaluation metrics: pure functions from result rows to per-question verdicts and run summaries.

Every rate is ``None`` when its denominator is empty, so "not measured" never reads as 0.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import PurePath
from typing import Any, Protocol

from pydantic import BaseModel, Field

RETRIEVAL_KS = (1, 4, 10)

#: Scalar metrics of a summary, grouped as the report charts them.
RETRIEVAL = ("hit@1", "hit@4", "hit@10", "mrr@10", "ndcg@10")
#: Suffix of the retrieval metrics restricted to answerable questions.
ANSWERABLE = " (answerable)"
METRIC_GROUPS: dict[str, tuple[str, ...]] = {
    "retrieval": RETRIEVAL,
    # An unanswerable question's gold is an on-topic passage *without* the answer, which
    # other passages may rightly outrank; answerable questions alone show finding the answer.
    "retrieval (answerable)": tuple(name + ANSWERABLE for name in RETRIEVAL),
    "answers": ("contains_expected", "token_f1", "rouge_l"),
    "citations": ("citation_verified", "citation_precision", "exact_sentence"),
    "abstention": ("abstention_unanswerable", "wrong_abstention_answerable"),
}


class CitationLike(Protocol):
    """What citation metrics read: a row's citation or a ``qa.types.Citation``."""

    doc_id: str
    source: str
    quote: str
    verified: bool


class RowCitation(BaseModel):
    """A citation as recorded in a result row."""

    marker: int
    doc_id: str
    source: str = ""
    quote: str
    verified: bool = False
    support: float | None = None


class RowDoc(BaseModel):
    """The document of one retrieved chunk."""

    doc_id: str
    source: str = ""


class ResultRow(BaseModel):
    """One question answered by one system, as the runner writes it to ``results.jsonl``.

    Schema (one JSON object a line)::

        {"id": str, "system": "citeqa" | "baseline", "question": str, "answerable": bool,
         "expected": [str], "reference": str | null, "gold_doc": [str], "gold_evidence": [str],
         "answer": str, "abstained": bool,
         "citations": [{"marker", "doc_id", "source", "quote", "verified", "support"}],
         "retrieved": [{"doc_id", "source"}],       # ranked chunks' documents, best first
         "timings": {stage: seconds, ..., "total": seconds},
         "llm_calls": int, "tokens": int,
         "support": float | null}                   # citeqa only: top evidence score

    ``support`` is the score of citeqa's best evidence sentence, the signal it abstains on
    (below ``settings.min_support``); null when no sentence was found.
    """

    id: str
    system: str
    question: str
    answerable: bool
    expected: list[str] = Field(default_factory=list)
    reference: str | None = None
    gold_doc: list[str] = Field(default_factory=list)
    gold_evidence: list[str] = Field(default_factory=list)
    answer: str
    abstained: bool
    citations: list[RowCitation] = Field(default_factory=list)
    retrieved: list[RowDoc] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)
    llm_calls: int = 0
    tokens: int = 0
    support: float | None = None


# --- retrieval (document level) ---


def doc_matches(doc_id: str, source: str, gold: str) -> bool:
    """Whether a document is the gold one: by doc_id, or by file stem for file corpora."""
    return gold == doc_id or (bool(source) and gold == PurePath(source).stem)


def ranked_doc_keys(retrieved: Iterable[tuple[str, str]], gold: Collection[str]) -> list[str]:
    """Map ranked (doc_id, source) pairs to doc keys (the gold entry they match, else doc_id)."""
    keys = (next((g for g in gold if doc_matches(d, s, g)), d) for d, s in retrieved)
    return dedupe(keys)


def dedupe(keys: Iterable[str]) -> list[str]:
    """Drop repeated keys, keeping each one's first (best) rank."""
    return list(dict.fromkeys(keys))


def hit_at_k(ranked: Sequence[str], gold: Collection[str], k: int) -> float | None:
    """1.0 when a gold document is among the first k distinct documents, else 0.0."""
    if not gold:
        return None
    return float(any(key in gold for key in _top(ranked, k)))


def mrr_at_k(ranked: Sequence[str], gold: Collection[str], k: int) -> float | None:
    """Reciprocal rank of the first gold document within the first k, else 0.0."""
    if not gold:
        return None
    return next((1 / rank for rank, key in enumerate(_top(ranked, k), 1) if key in gold), 0.0)


def ndcg_at_k(ranked: Sequence[str], gold: Collection[str], k: int) -> float | None:
    """Binary-relevance nDCG@k; the ideal ranks min(len(gold), k) gold documents first."""
    if not gold:
        return None
    dcg = sum(1 / math.log2(i + 2) for i, key in enumerate(_top(ranked, k)) if key in gold)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(len(set(gold)), k)))
    return dcg / ideal


def _top(ranked: Sequence[str], k: int) -> list[str]:
    """The first k distinct keys."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return dedupe(ranked)[:k]


# --- answers ---


def contains_expected(text: str, expected: Sequence[str]) -> bool | None:
    """Whether the answer contains every expected string (case- and spacing-insensitive)."""
    if not expected:
        return None
    haystack = _squash(text).casefold()
    return all(_squash(item).casefold() in haystack for item in expected)


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


def _squash(text: str) -> str:
    """Collapse runs of whitespace to one space and trim."""
    return " ".join(text.split())


def quote_matches_evidence(quote: str, evidence: str) -> bool:
    """Whether a quote and a gold evidence text contain one another, whitespace-normalized.

    Covers equal texts, a quote that starts with or contains the evidence (evidence may be a
    sentence's start), and a quote that is a fragment of the evidence.
    """
    q, e = _squash(quote), _squash(evidence)
    return bool(q and e) and (e in q or q in e)


def citation_correct(
    citation: CitationLike, gold_docs: Sequence[str], gold_evidence: Sequence[str]
) -> bool:
    """Whether a citation points at a gold document or quotes gold evidence."""
    return any(doc_matches(citation.doc_id, citation.source, g) for g in gold_docs) or any(
        quote_matches_evidence(citation.quote, e) for e in gold_evidence
    )


def citation_precision(
    citations: Sequence[CitationLike], gold_docs: Sequence[str], gold_evidence: Sequence[str]
) -> float | None:
    """Share of citations that point at a gold document or quote gold evidence."""
    return _mean(citation_correct(c, gold_docs, gold_evidence) for c in citations)


def exact_sentence(quote: str | None, gold_evidence: Sequence[str]) -> bool | None:
    """Whether the first citation's quote is a gold evidence sentence (None: no gold evidence)."""
    if not gold_evidence:
        return None
    return quote is not None and any(quote_matches_evidence(quote, e) for e in gold_evidence)


def verified_share(citations: Sequence[CitationLike]) -> float | None:
    """Share of citations whose quote was checked against the answer text."""
    return _mean(c.verified for c in citations)


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
    """Per-question verdicts for one result row; a metric that does not apply is None."""
    r = ResultRow.model_validate(row)
    ranked = ranked_doc_keys(((d.doc_id, d.source) for d in r.retrieved), r.gold_doc)
    scores: dict[str, Any] = {f"hit@{k}": hit_at_k(ranked, r.gold_doc, k) for k in RETRIEVAL_KS}
    scores["mrr@10"] = mrr_at_k(ranked, r.gold_doc, 10)
    scores["ndcg@10"] = ndcg_at_k(ranked, r.gold_doc, 10)
    scores.update({name + ANSWERABLE: scores[name] if r.answerable else None for name in RETRIEVAL})
    scores["contains_expected"] = contains_expected(r.answer, r.expected) if r.answerable else None
    scores["token_f1"] = token_f1(r.answer, r.reference) if r.reference is not None else None
    scores["rouge_l"] = rouge_l(r.answer, r.reference) if r.reference is not None else None
    scores["citation_verified"] = verified_share(r.citations)
    # Only answerable questions: citing the on-topic passage of an unanswerable question is
    # an abstention failure, not a good citation.
    scores["citation_precision"] = (
        citation_precision(r.citations, r.gold_doc, r.gold_evidence) if r.answerable else None
    )
    first_quote = r.citations[0].quote if r.citations else None
    scores["exact_sentence"] = exact_sentence(first_quote, r.gold_evidence)
    scores["abstention_unanswerable"] = correct_abstention(r.answerable, r.abstained)
    scores["wrong_abstention_answerable"] = wrong_abstention(r.answerable, r.abstained)
    scores["outcome"] = _outcome(r.answerable, r.abstained)
    return scores


def _outcome(answerable: bool, abstained: bool) -> str:
    """One word on the answer-or-abstain decision."""
    if answerable:
        return "wrongly abstained" if abstained else "answered"
    return "abstained" if abstained else "wrongly answered"


def summarize(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Aggregate one system's rows: mean of each per-question metric over the rows it applies to.

    Returns the metrics of METRIC_GROUPS, ``n`` (how many questions each metric was averaged
    over), ``latency`` (p50/p95 seconds per stage and total), LLM calls and tokens.
    """
    parsed = [ResultRow.model_validate(row) for row in rows]
    scored = [score_row(row) for row in rows]
    names = [name for group in METRIC_GROUPS.values() for name in group]
    summary: dict[str, Any] = {
        "questions": len(parsed),
        "answerable": sum(r.answerable for r in parsed),
        "unanswerable": sum(not r.answerable for r in parsed),
    }
    summary.update({name: _mean(s[name] for s in scored) for name in names})
    summary["n"] = {name: sum(s[name] is not None for s in scored) for name in names}
    summary["latency"] = _latency(parsed)
    for field in ("llm_calls", "tokens"):
        values = [getattr(r, field) for r in parsed]
        summary[f"{field}_total"] = sum(values)
        summary[f"{field}_mean"] = _mean(values)
    return summary


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
