"""Evidence: the sentences of the retrieved chunks that best answer the question.

This is all the LLM ever sees, and what citations point at, so each sentence keeps its
exact offsets in its document. A sentence is judged by meaning first (its embedding against
the question's, stored at ingest so nothing is embedded here but the question) and with its
context: the chunk it sits in, its neighbours and its document's title, because a sentence
that answers often leaves its subject to the one before ("Caracas used the talks to press
for US sanctions relief" after a paragraph on Venezuela). Shared words count too, weighted
by how rare they are.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from qa.candidates import Candidate, candidate_sentences
from qa.lexicon import ALIASES, aliases_in, names, plain_names, synonym_stems
from qa.types import SearchHit, Source
from vectorstore.tokens import terms

# A word matched only through a news synonym ("offer" ~ "concession") counts this much.
SYNONYM_CREDIT = 0.6
# Both retrievers rank the sentence's chunk this high or better: they agree.
AGREE_RANK = 3
# MiniLM gives unrelated texts cosine similarities up to ~0.3: only the part above counts.
DENSE_FLOOR = 0.3
# A long sentence's best clause stands for it at this much less than its own similarity.
CLAUSE_DISCOUNT = 0.1

Embed = Callable[[list[str]], list[list[float]]]


@dataclass
class Evidence:
    """One numbered evidence sentence, with the signals that ranked it."""

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
    vector: list[float] | None = None
    signals: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Weights:
    """How the signals add up to a sentence's score: a logistic model's weights, fitted on
    the ClapNQ tuning half and a tuning set of paraphrased news questions
    (``bench/evidence_fit.py``; docs/evaluation.md). Signals with no weight are recorded
    for the gate and the trace."""

    bias: float = -5.12
    dense: float = 4.4
    neighbour_dense: float = 0.18
    title_dense: float = 2.76
    lexical: float = 1.41


WEIGHTS = Weights()


def coverage(
    question_terms: Sequence[str], sentence_terms: set[str], idf: Callable[[str], float]
) -> float:
    """Share of the question's (idf-weighted) content terms that the text holds; a word the
    text only has a news synonym of counts for ``SYNONYM_CREDIT``."""
    unique = set(question_terms)
    total = sum(idf(t) for t in unique)
    if total <= 0:
        return 0.0
    synonyms = synonym_stems()
    held = 0.0
    for t in unique:
        if t in sentence_terms:
            held += idf(t)
        elif synonyms.get(t, frozenset()) & sentence_terms:
            held += SYNONYM_CREDIT * idf(t)
    return held / total


def _clause_similarities(candidates: list[Candidate], q_vecs: list[np.ndarray]) -> np.ndarray:
    """Per candidate, its best clause's similarity to the question, less
    ``CLAUSE_DISCOUNT`` (0 without clauses): a clause lifts its sentence only when it
    matches clearly better than the whole sentence does."""
    out = np.zeros(len(candidates))
    for i, cand in enumerate(candidates):
        if cand.clause_vectors is not None:
            best = max(float((cand.clause_vectors @ v).max()) for v in q_vecs)
            out[i] = best - CLAUSE_DISCOUNT
    return out


def _vectors(candidates: list[Candidate], embed: Embed) -> np.ndarray:
    """Sentence vectors: stored at ingest, embedded here only for old stores."""
    missing = [i for i, c in enumerate(candidates) if c.vector is None]
    if missing:
        fresh = embed([candidates[i].text for i in missing])
        for i, vector in zip(missing, fresh, strict=True):
            candidates[i].vector = np.asarray(vector, dtype=np.float32)
    return np.stack([np.asarray(c.vector, dtype=np.float32) for c in candidates])


def _names_plainly(candidates: list[Candidate], aliases: set[str]) -> np.ndarray:
    """Per candidate, whether its sentence names a place the question called by an alias
    by another name ("the US officials" for "Washington") and never by the alias itself."""
    places = {ALIASES[a] for a in aliases}
    alias = re.compile(r"\b(" + "|".join(re.escape(a) for a in aliases) + r")\b", re.I)
    return np.array([bool(places & names(c.text)) and not alias.search(c.text) for c in candidates])


def _split(vectors: np.ndarray, n: int) -> list[np.ndarray]:
    """The first ``n`` rows one by one, then the rest as one block."""
    return [*vectors[:n], vectors[n:]]


def _rescale(cosine: float) -> float:
    return max(0.0, (cosine - DENSE_FLOOR) / (1 - DENSE_FLOOR))


def _similarities(
    candidates: list[Candidate], question: str, context: str, embed: Embed
) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """(each candidate's similarity to the question, the question's vector, each title's
    similarity to it)."""
    titles = sorted({str(c.hit.chunk.metadata.get("title", "")) for c in candidates})
    asked = [question, f"{question} {context}"] if context else [question]
    plain = plain_names(question)
    extra = [plain] if plain != question else []
    *q_vecs, title_vecs = _split(
        np.asarray(embed([*asked, *extra, *titles])), len(asked) + len(extra)
    )
    plain_vec = q_vecs.pop() if extra else None
    q_vec = q_vecs[-1]
    title_sim = {t: float(v @ q_vec) for t, v in zip(titles, title_vecs, strict=True)}
    vectors = _vectors(candidates, embed)
    # A follow-up is judged by itself and with its conversation, whichever fits better:
    # "they" needs the conversation, what is newly asked needs the question alone.
    dense = np.max(np.stack([vectors @ v for v in q_vecs]), axis=0)
    dense = np.maximum(dense, _clause_similarities(candidates, q_vecs))
    if plain_vec is not None:
        # "Washington" as the US it stands for (lexicon.plain_names): a sentence model does
        # not know that a capital names its government. A sentence that names the country
        # plainly ("the US officials") may match the plain question; any other keeps its
        # similarity to the question as asked.
        plainly = _names_plainly(candidates, aliases_in(question))
        dense = np.where(plainly, np.maximum(dense, vectors @ plain_vec), dense)
    return dense, q_vec, title_sim


def signals(
    candidates: list[Candidate],
    question: str,
    context: str,
    idf: Callable[[str], float],
    embed: Embed,
) -> list[dict[str, float]]:
    """Per candidate: dense similarity of the sentence, of it with its neighbours, of its
    chunk and title; idf-weighted coverage of the question's words by the sentence, its
    window and its title; and its chunk's retrieval rank."""
    q_terms, c_terms = terms(question), terms(context)
    dense, q_vec, title_sim = _similarities(candidates, question, context, embed)
    ranks: dict[int, int] = {}
    for cand in candidates:  # candidates come in retrieval order
        ranks.setdefault(id(cand.hit), len(ranks))
    rows = []
    for cand, sim in zip(candidates, dense, strict=True):
        own = set(terms(cand.text))
        window = own | set(terms(cand.before)) | set(terms(cand.after))
        title = str(cand.hit.chunk.metadata.get("title", ""))
        lexical = coverage(q_terms, own, idf)
        window_lexical = coverage(q_terms, window, idf)
        if c_terms:  # a follow-up: the conversation's words count for a third
            lexical = (2 * lexical + coverage(c_terms, own, idf)) / 3
            window_lexical = (2 * window_lexical + coverage(c_terms, window, idf)) / 3
        neighbours = [float(v @ q_vec) for v in _neighbour_vectors(cand, candidates)]
        neighbour = max(neighbours) if neighbours else float(sim)
        rows.append(
            {
                "dense": float(sim),
                "neighbour_dense": neighbour,
                "chunk_dense": float(cand.hit.dense_score or 0.0),
                "title_dense": title_sim[title],
                "lexical": lexical,
                "window_lexical": window_lexical,
                "title_lexical": coverage(q_terms, set(terms(title)), idf),
                "chunk_rank": 1.0 / (1 + ranks[id(cand.hit)]),
                "agree": float(
                    (cand.hit.dense_rank or 99) <= AGREE_RANK
                    and (cand.hit.lexical_rank or 99) <= AGREE_RANK
                ),
            }
        )
    return rows


def standout(rows: list[dict[str, float]]) -> list[dict[str, float]]:
    """Adds how each sentence stands out from the rest of what was retrieved (the gate
    reads it): its similarity and word coverage above the median, and the best similarity."""
    if not rows:
        return rows
    dense_mid = float(np.median([r["dense"] for r in rows]))
    lexical_mid = float(np.median([r["lexical"] for r in rows]))
    top_dense = max(r["dense"] for r in rows)
    for row in rows:
        row["dense_z"] = row["dense"] - dense_mid
        row["lexical_z"] = row["lexical"] - lexical_mid
        row["max_dense"] = top_dense
    return rows


def _neighbour_vectors(cand: Candidate, candidates: list[Candidate]) -> list[np.ndarray]:
    return [
        c.vector
        for c in candidates
        if c.vector is not None and c.hit is cand.hit and c.text in (cand.before, cand.after)
    ]


def score(row: dict[str, float], weights: Weights = WEIGHTS) -> float:
    """The logistic model's probability that the sentence holds the answer."""
    return logistic(weights, row)


class Weighted(Protocol):
    """Weights of a logistic model: a bias and one field per signal."""

    @property
    def bias(self) -> float: ...


def logistic(weights: Weighted, row: Mapping[str, float]) -> float:
    """A logistic model: ``weights.bias`` plus each named weight times its value in
    ``row`` (values without a weight count for nothing), through the sigmoid."""
    z = weights.bias + sum(
        getattr(weights, name) * value for name, value in row.items() if hasattr(weights, name)
    )
    return 1.0 / (1.0 + math.exp(-z))


def select_evidence(
    question: str,
    hits: Sequence[SearchHit],
    k: int,
    idf: Callable[[str], float],
    embed: Embed,
    context: str = "",
) -> list[Evidence]:
    """The ``k`` best sentences of the hits. ``context`` (a follow-up's conversation: the
    previous question and the sentences its answer cited) helps find what "they" was."""
    candidates = candidate_sentences(hits)
    if not candidates:
        return []
    rows = standout(signals(candidates, question, context, idf, embed))
    scored = sorted(zip(candidates, rows, strict=True), key=lambda pair: -score(pair[1]))
    evidence = []
    for n, (cand, row) in enumerate(scored[:k], start=1):
        meta = cand.hit.chunk.metadata
        evidence.append(
            Evidence(
                n=n,
                text=cand.text,
                doc_id=cand.hit.chunk.doc_id,
                title=str(meta.get("title", "")),
                date=meta.get("date"),
                source=str(meta.get("source", "")),
                chunk_id=cand.hit.chunk.id,
                start=cand.start,
                end=cand.end,
                page=meta.get("page"),
                lexical=row["lexical"],
                dense=_rescale(row["dense"]),
                score=score(row),
                vector=None if cand.vector is None else [float(x) for x in cand.vector],
                signals=row,
            )
        )
    return evidence


def renumbered(evidence: list[Evidence]) -> list[Evidence]:
    """``evidence`` numbered 1, 2, ... in its order (the numbers the answer cites)."""
    for n, ev in enumerate(evidence, start=1):
        ev.n = n
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
