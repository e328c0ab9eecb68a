"""Sentence splitting with character offsets, and sentence-aware chunking."""

from __future__ import annotations

import hashlib
import re

from qa.types import Chunk, Document

# A sentence ends at . ! ? (plus closing quotes/brackets) before whitespace and a capital,
# digit or opening quote; a blank line always ends one. Abbreviations are checked after.
_BOUNDARY = re.compile(r"""[.!?]+["'’”)\]]*(?=\s+["'“‘(\[]?[A-Z0-9])|\n[ \t]*\n""")
_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sr jr st mt ft gen gov sen rep col lt sgt capt cmdr adm rev hon pres
    inc ltd co corp dept univ vs etc al fig no nos vol pp ed eds approx est jan feb mar apr jun
    jul aug sep sept oct nov dec u.s u.k u.n e.g i.e a.m p.m""".split()
)
# A "sentence" longer than this (no punctuation at all) is split at whitespace.
MAX_SENTENCE = 2000


def _is_abbreviation(text: str, dot: int) -> bool:
    """True when the '.' at ``dot`` ends an abbreviation or an initial, not a sentence."""
    if text[dot] != ".":
        return False
    start = dot
    while start > 0 and (text[start - 1].isalpha() or text[start - 1] == "."):
        start -= 1
    word = text[start:dot].lower()
    return word in _ABBREVIATIONS or (len(word) == 1 and text[start].isupper())


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _split_long(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans = []
    while end - start > MAX_SENTENCE:
        cut = text.rfind(" ", start, start + MAX_SENTENCE)
        cut = cut if cut > start else start + MAX_SENTENCE
        spans.append(_trim(text, start, cut))
        start = cut
    spans.append(_trim(text, start, end))
    return [s for s in spans if s[1] > s[0]]


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans of ``text[start:end]``, as offsets into ``text``, whitespace trimmed."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    cursor = start
    for match in _BOUNDARY.finditer(text, start, end):
        if match.group(0)[0] == "." and _is_abbreviation(text, match.start()):
            continue
        spans.extend(_split_long(text, cursor, match.end()))
        cursor = match.end()
    spans.extend(_split_long(text, cursor, end))
    return spans


def chunk_id(doc: Document, position: int) -> str:
    """Content-derived: the same document version always gets the same chunk ids."""
    return f"{doc.doc_id}:{doc.content_hash[:12]}:{position}"


def page_of(doc: Document, offset: int) -> int | None:
    if not doc.pages:
        return None
    for number, (start, end) in enumerate(doc.pages, start=1):
        if start <= offset <= end:
            return number
    return None


def chunk_document(doc: Document, size: int = 1000, overlap: int = 200) -> list[Chunk]:
    """Whole sentences grouped to about ``size`` characters; consecutive chunks share up to
    ``overlap`` characters of whole sentences, so a fact near a border is in one chunk."""
    sentences = split_sentences(doc.text, doc.body_start)
    groups: list[list[tuple[int, int]]] = []
    i = 0
    while i < len(sentences):
        group = [sentences[i]]
        j = i + 1
        while j < len(sentences) and sentences[j][1] - group[0][0] <= size:
            group.append(sentences[j])
            j += 1
        groups.append(group)
        if j >= len(sentences):
            break
        # Step back over trailing sentences that fit in the overlap, but always advance.
        back = j
        while back - 1 > i and sentences[j - 1][1] - sentences[back - 1][0] <= overlap:
            back -= 1
        i = back
    chunks = []
    for position, group in enumerate(groups):
        start, end = group[0][0], group[-1][1]
        chunks.append(
            Chunk(
                id=chunk_id(doc, position),
                doc_id=doc.doc_id,
                text=doc.text[start:end],
                start=start,
                end=end,
                position=position,
                sentences=group,
                metadata={"page": page_of(doc, start)},
            )
        )
    return chunks


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


# Where a long sentence divides into clauses: commas, semicolons, dashes, and before a
# conjunction that starts a new clause.
_CLAUSE_BREAK = re.compile(
    r",\s+|;\s+|\s+[—–]+\s+|\s+-\s+"
    r"|\s+(?=(?:but|as|while|although|though|because|whereas)\s)",
    re.I,
)
# "five sources familiar with the matter said": who reported it, not what it says.
_ATTRIBUTION = re.compile(r"\b(?:said|says|told|reported|according)\b\W*$", re.I)
CLAUSE_SENTENCE_WORDS = 16
CLAUSE_WORDS = 6


def clauses(sentence: str) -> list[str]:
    """The clauses of a long sentence, each of several words, attributions left out; none
    for a short sentence or one that does not divide. A sentence model reads a long news
    sentence as its average: "made scant progress toward a deal" is lost in a lede that also
    says who discussed what and who said so."""
    if len(sentence.split()) < CLAUSE_SENTENCE_WORDS:
        return []
    parts: list[str] = []
    for piece in (p.strip() for p in _CLAUSE_BREAK.split(sentence)):
        if not piece:
            continue
        short = len(piece.split()) < CLAUSE_WORDS
        if parts and (short or len(parts[-1].split()) < CLAUSE_WORDS):
            parts[-1] = f"{parts[-1]}, {piece}"
        else:
            parts.append(piece)
    if len(parts) < 2:
        return []
    return [p for p in parts if not _ATTRIBUTION.search(p)]
