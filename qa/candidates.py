"""The sentences of retrieved chunks that may be evidence: each once (chunks overlap), with
its document offsets, the sentences around it and its stored vectors. A section heading
answers nothing and text addressing the assistant is data, not an instruction: neither is
a candidate.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qa.types import SearchHit
from vectorstore.tokens import terms

# Text that addresses the assistant rather than the reader is data, never an instruction:
# such sentences are kept out of the evidence entirely. Only instructions count: imperatives
# aimed at the model ("ignore previous instructions", "you are now", "respond only with"),
# not prose that happens to use the words ("asked to respond with restraint").
_INJECTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b.{0,40}\b(?:instructions?|prompts?|rules|"
    r"guidelines|context)\b"
    r"|\b(?:system prompt|you are now|you must now|as an ai\b|language model)"
    r"|(?:^|[.!?:]\s+|\b(?:assistant|ai|chatbot|model)[,:]\s*)(?:please\s+)?"
    r"(?:act as|pretend to be|reply with|respond with|respond only|answer with|answer only|"
    r"say only|output|print)\b"
    r"|\b(?:reply|respond|answer)\s+(?:only\s+)?with\s+[\"'“‘]",
    re.IGNORECASE,
)


@dataclass
class Candidate:
    """A sentence of a retrieved chunk, with its neighbours in that chunk."""

    hit: SearchHit
    start: int
    end: int
    text: str
    before: str
    after: str
    vector: np.ndarray | None = None
    # Its clauses' vectors when it is long (stored at ingest; see ``chunking.clauses``).
    clause_vectors: np.ndarray | None = None


def looks_like_injection(sentence: str) -> bool:
    return bool(_INJECTION.search(sentence))


# How a sentence ends (a heading does not: "Venezuela's financial lifeline").
_SENTENCE_END = re.compile(r"[.!?:;…\"'”’)\]]\s*$")
HEADING_WORDS = 12
# Characters either side of a sentence that tell whether it is a line of its own.
_LINE = 80


def is_heading(text: str, before: str, after: str) -> bool:
    """A short line of its own that does not end as a sentence does: a section heading,
    which says what follows but answers nothing ("What is the US hoping to get?" was
    answered "Venezuela's financial lifeline [1].")."""
    starts = not before.strip(" \t") or before.rstrip(" \t").endswith("\n")
    alone = starts and after.lstrip(" \t").startswith("\n")
    short = len(text.split()) <= HEADING_WORDS
    return alone and short and not _SENTENCE_END.search(text)


def candidate_sentences(hits: Sequence[SearchHit]) -> list[Candidate]:
    """Every sentence of the hits once (chunks overlap), with document offsets and the
    sentences around it; stored sentence vectors come along when the chunk has them."""
    seen: set[tuple[str, int]] = set()
    out: list[Candidate] = []
    for hit in hits:
        chunk = hit.chunk
        texts = [chunk.text[s - chunk.start : e - chunk.start] for s, e in chunk.sentences]
        vectors = hit.sentence_vectors
        for i, ((start, end), text) in enumerate(zip(chunk.sentences, texts, strict=True)):
            key = (chunk.doc_id, start)
            if key in seen or not terms(text) or looks_like_injection(text):
                continue
            a, b = start - chunk.start, end - chunk.start
            # Only the line around the sentence matters: no copy of the whole chunk.
            if is_heading(text, chunk.text[max(0, a - _LINE) : a], chunk.text[b : b + _LINE]):
                continue
            seen.add(key)
            before = texts[i - 1] if i > 0 else ""
            after = texts[i + 1] if i + 1 < len(texts) else ""
            vector = vectors[i] if vectors is not None and i < len(vectors) else None
            out.append(Candidate(hit, start, end, text, before, after, vector, _clauses_of(hit, i)))
    return out


def _clauses_of(hit: SearchHit, sentence: int) -> np.ndarray | None:
    if hit.clause_vectors is None:
        return None
    owners, vectors = hit.clause_vectors
    rows = [k for k, owner in enumerate(owners) if owner == sentence]
    return vectors[rows] if rows else None
