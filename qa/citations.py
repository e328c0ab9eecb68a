"""Citations are computed, not trusted: each answer sentence is matched to the evidence that
supports it; unsupported text is trimmed or dropped."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from qa.chunking import split_sentences
from qa.evidence import Evidence
from qa.types import Citation
from vectorstore.tokens import STOPWORDS, stem, words

_MARKER = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
_CLAUSE = re.compile(r"[,;:]\s+|\s+[-–—]+\s+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_CLAUSE_END = re.compile(r"[\s,;:–—-]+$")


@dataclass
class Claim:
    """An answer sentence and the evidence that supports it."""

    text: str
    evidence: list[Evidence]
    support: float
    cited: list[int]


def content_terms(text: str) -> list[str]:
    return [stem(w) for w in words(text) if w not in STOPWORDS]


def support(claim: str, evidence_text: str, question_terms: frozenset[str] = frozenset()) -> float:
    """Share of the claim's content terms found in the evidence (question words are free:
    restating the question is not an invention). Numbers must match exactly."""
    claim_numbers = set(_NUMBER.findall(claim))
    if claim_numbers - set(_NUMBER.findall(evidence_text)):
        return 0.0
    claim_terms = [t for t in content_terms(claim) if t not in question_terms]
    if not claim_terms:
        return 0.0
    held = set(content_terms(evidence_text))
    return sum(1 for t in claim_terms if t in held) / len(claim_terms)


def best_support(
    claim: str, evidence: Sequence[Evidence], question_terms: frozenset[str]
) -> tuple[float, list[Evidence]]:
    """The best single sentence, or pair of sentences, supporting the claim."""
    if not evidence:
        return 0.0, []
    ranked = sorted(evidence, key=lambda ev: -support(claim, ev.text, question_terms))
    best = ranked[0]
    score = support(claim, best.text, question_terms)
    for other in ranked[1:3]:
        pair = support(claim, f"{best.text} {other.text}", question_terms)
        # A second sentence must add real support to be cited too.
        if pair >= score + 0.15:
            return pair, [best, other]
    return score, [best]


def clauses(sentence: str) -> list[str]:
    """Comma/semicolon/dash-separated parts; a part with under two content words joins the
    next, so "In 2019," is judged with what it introduces."""
    parts, pending, last = [], "", 0
    for match in _CLAUSE.finditer(sentence):
        pending += sentence[last : match.end()]
        last = match.end()
        if len(content_terms(pending)) >= 2:
            parts.append(pending)
            pending = ""
    parts.append(pending + sentence[last:])
    return [p for p in parts if p.strip()]


def trim_to_support(
    sentence: str, evidence: Sequence[Evidence], threshold: float, question_terms: frozenset[str]
) -> tuple[str, float, list[Evidence]]:
    """The longest run of leading clauses of ``sentence`` each supported by the evidence.

    Clause by clause, so a supported opening cannot carry an invented tail.
    """
    kept, scores, used = "", [], []  # type: tuple[str, list[float], list[Evidence]]
    for clause in clauses(sentence):
        terms_ = [t for t in content_terms(clause) if t not in question_terms]
        if not terms_:  # nothing claimed beyond the question's own words
            kept += clause
            continue
        score, evs = best_support(clause, evidence, question_terms)
        if score < threshold:
            break
        kept += clause
        scores.append(score)
        used.extend(ev for ev in evs if ev not in used)
    kept = _CLAUSE_END.sub("", kept.strip())
    if not scores or len(content_terms(kept)) < 2:
        return "", 0.0, []
    if kept[-1:] not in ".!?":
        kept += "."
    return kept, min(scores), used


def verify(
    answer: str, evidence: Sequence[Evidence], threshold: float, question: str = ""
) -> list[Claim]:
    """Supported claims of ``answer``, each with the evidence that supports it."""
    q_terms = frozenset(content_terms(question))
    claims: list[Claim] = []
    for start, end in split_sentences(answer):
        raw = answer[start:end]
        cited = [int(n) for group in _MARKER.findall(raw) for n in re.split(r"\s*,\s*", group)]
        text = _MARKER.sub("", raw).strip()
        if not text:
            continue
        kept, score, used = trim_to_support(text, evidence, threshold, q_terms)
        if kept and not any(kept == c.text for c in claims):
            claims.append(Claim(kept, used, score, cited))
    return claims


def key_terms(
    evidence_text: str, question: str, idf: Callable[[str], float], n: int = 5
) -> list[str]:
    """The evidence's most specific words that the question does not already say: what a
    complete answer has to carry (names, numbers, the fact itself)."""
    asked = set(content_terms(question))
    unique = dict.fromkeys(t for t in content_terms(evidence_text) if t not in asked)
    return sorted(unique, key=lambda t: -idf(t))[:n]


def completeness(claims: Sequence[Claim], keys: Sequence[str]) -> float:
    """Share of ``keys`` the claims carry."""
    if not keys:
        return 1.0
    said = {t for claim in claims for t in content_terms(claim.text)}
    return sum(1 for t in keys if t in said) / len(keys)


def build_citations(claims: Sequence[Claim]) -> tuple[str, list[Citation]]:
    """Answer text with ``[n]`` markers numbered by first use, and the matching citations."""
    citations: list[Citation] = []
    marker_of: dict[tuple[str, int], int] = {}
    parts = []
    for claim in claims:
        markers = []
        for ev in claim.evidence:
            key = (ev.doc_id, ev.start)
            if key not in marker_of:
                marker_of[key] = len(citations) + 1
                citations.append(
                    Citation(
                        marker=marker_of[key],
                        doc_id=ev.doc_id,
                        title=ev.title,
                        date=ev.date,
                        source=ev.source,
                        chunk_id=ev.chunk_id,
                        quote=ev.text,
                        start=ev.start,
                        end=ev.end,
                        support=round(claim.support, 3),
                        verified=True,
                        page=ev.page,
                    )
                )
            markers.append(marker_of[key])
        text = claim.text.rstrip()
        if text[-1:] not in ".!?":
            text += "."
        body, stop = text[:-1], text[-1]
        parts.append(f"{body} {''.join(f'[{m}]' for m in sorted(set(markers)))}{stop}")
    return " ".join(parts), citations
