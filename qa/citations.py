"""Citations are computed, not trusted: verified claims become the answer text with ``[n]``
markers numbered by first use, each pointing at the exact sentence that supports it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from qa.checks import content_terms
from qa.types import Citation
from qa.verify import Claim


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


def build_citations(claims: Sequence[Claim], verified: bool) -> tuple[str, list[Citation]]:
    """Answer text with ``[n]`` markers numbered by first use, and the matching citations.
    ``verified``: the text was model-written and passed verification (an extractive answer
    quotes its evidence and is not "verified" against itself)."""
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
                        verified=verified,
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
