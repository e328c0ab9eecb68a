"""Evidence: the sentences of the retrieved chunks that best answer the question.

This is all the LLM ever sees, and what citations point at, so each sentence keeps its
exact offsets in its document.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from qa.types import SearchHit, Source
from vectorstore.tokens import terms

# Text that addresses the assistant rather than the reader is data, never an instruction:
# such sentences are kept out of the evidence entirely.
_INJECTION = re.compile(
    r"\b(ignore|disregard|forget)\b.{0,40}\b(instructions?|prompts?|rules|above|previous)\b"
    r"|\b(system prompt|you are now|act as|reply with|respond with|answer with)\b",
    re.IGNORECASE,
)
# MiniLM gives unrelated sentences cosine similarities up to ~0.3; rescale above that.
_DENSE_FLOOR = 0.3
# Score = lexical^0.7 * dense^0.3 (dense after a square root): a geometric mean needs both
# the question's words and its meaning. Chosen on ClapNQ dev against answerable vs.
# unanswerable questions (docs/evaluation.md); it separates them better than a sum.
_LEXICAL_EXPONENT = 0.7


@dataclass
class Evidence:
    """One numbered evidence sentence."""

    n: int
    text: str
    doc_id: str
    title: str
    date: str | None
    source: str
    chunk_id: str
    start: int
    end: int
    page: int | None
    lexical: float
    dense: float
    score: float


def looks_like_injection(sentence: str) -> bool:
    return bool(_INJECTION.search(sentence))


def coverage(
    question_terms: Sequence[str], sentence_terms: set[str], idf: Callable[[str], float]
) -> float:
    """Share of the question's (idf-weighted) content terms that the sentence holds."""
    unique = set(question_terms)
    total = sum(idf(t) for t in unique)
    if total <= 0:
        return 0.0
    return sum(idf(t) for t in unique if t in sentence_terms) / total


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    return float(sum(x * y for x, y in zip(a, b, strict=True)))


def candidate_sentences(hits: Sequence[SearchHit]) -> list[tuple[SearchHit, int, int, str]]:
    """Every sentence of the hits once (chunks overlap), with document offsets."""
    seen: set[tuple[str, int]] = set()
    out = []
    for hit in hits:
        chunk = hit.chunk
        for start, end in chunk.sentences:
            key = (chunk.doc_id, start)
            text = chunk.text[start - chunk.start : end - chunk.start]
            if key in seen or not terms(text) or looks_like_injection(text):
                continue
            seen.add(key)
            out.append((hit, start, end, text))
    return out


def select_evidence(
    question: str,
    hits: Sequence[SearchHit],
    k: int,
    idf: Callable[[str], float],
    embed: Callable[[list[str]], list[list[float]]],
    context: str = "",
) -> list[Evidence]:
    """The ``k`` best sentences, by lexical coverage of the question and dense similarity.

    ``context`` (the previous question of a conversation) counts for a third, so a
    follow-up such as "Who led it?" still finds what "it" was.
    """
    candidates = candidate_sentences(hits)
    if not candidates:
        return []
    q_terms = terms(question)
    c_terms = terms(context)
    vectors = embed([f"{question} {context}".strip(), *[c[3] for c in candidates]])
    q_vec = vectors[0]
    scored = []
    for (hit, start, end, text), vec in zip(candidates, vectors[1:], strict=True):
        s_terms = set(terms(text))
        lexical = coverage(q_terms, s_terms, idf)
        if c_terms:
            lexical = (2 * lexical + coverage(c_terms, s_terms, idf)) / 3
        dense = max(0.0, (cosine(q_vec, vec) - _DENSE_FLOOR) / (1 - _DENSE_FLOOR))
        score = lexical**_LEXICAL_EXPONENT * math.sqrt(dense) ** (1 - _LEXICAL_EXPONENT)
        scored.append((score, lexical, dense, hit, start, end, text))
    scored.sort(key=lambda row: -row[0])
    evidence = []
    for n, (score, lexical, dense, hit, start, end, text) in enumerate(scored[:k], start=1):
        meta = hit.chunk.metadata
        evidence.append(
            Evidence(
                n=n,
                text=text,
                doc_id=hit.chunk.doc_id,
                title=str(meta.get("title", "")),
                date=meta.get("date"),
                source=str(meta.get("source", "")),
                chunk_id=hit.chunk.id,
                start=start,
                end=end,
                page=meta.get("page"),
                lexical=lexical,
                dense=dense,
                score=score,
            )
        )
    return evidence


def sources_of(hits: Sequence[SearchHit]) -> list[Source]:
    """The retrieved passages, for display (also the 'closest sources' of an abstention)."""
    return [
        Source(
            doc_id=hit.chunk.doc_id,
            title=str(hit.chunk.metadata.get("title", "")),
            date=hit.chunk.metadata.get("date"),
            source=str(hit.chunk.metadata.get("source", "")),
            chunk_id=hit.chunk.id,
            text=hit.chunk.text,
            start=hit.chunk.start,
            end=hit.chunk.end,
            score=hit.score,
        )
        for hit in hits
    ]


def render(evidence: Sequence[Evidence]) -> str:
    """Numbered evidence for the prompt: ``[n] (title, date) sentence``."""
    lines = []
    for ev in evidence:
        label = ", ".join(x for x in (ev.title, ev.date) if x)
        lines.append(f"[{ev.n}] ({label}) {ev.text}")
    return "\n".join(lines)
