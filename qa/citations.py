"""Citations are computed, not trusted: each answer sentence is matched to the evidence that
supports it; unsupported text is trimmed or dropped."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from qa.chunking import split_sentences
from qa.evidence import Evidence
from qa.types import Citation
from vectorstore.tokens import STOPWORDS, stem, words

_MARKER = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
_CLAUSE = re.compile(r"[,;:]\s+|\s+[-–—]+\s+")
_NUMBER = re.compile(r"\d[\d.,]*")


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


def trim_to_support(
    sentence: str, evidence: Sequence[Evidence], threshold: float, question_terms: frozenset[str]
) -> tuple[str, float, list[Evidence]]:
    """The longest clause-prefix of ``sentence`` that the evidence supports."""
    score, used = best_support(sentence, evidence, question_terms)
    if score >= threshold:
        return sentence, score, used
    cuts = [m.start() for m in _CLAUSE.finditer(sentence)]
    for cut in reversed(cuts):
        prefix = sentence[:cut].rstrip()
        if len(content_terms(prefix)) < 3:
            break
        score, used = best_support(prefix, evidence, question_terms)
        if score >= threshold:
            return prefix + ".", score, used
    return "", 0.0, []


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
