"""Sentence splitting and sentence-aware chunking keep exact offsets and whole sentences."""

from __future__ import annotations

import itertools

from qa.chunking import MAX_SENTENCE, chunk_document, clauses, split_sentences
from qa.documents import content_hash
from qa.types import Document


def doc(text: str, body_start: int = 0) -> Document:
    return Document(
        doc_id="d1", source="s", title="t", text=text, body_start=body_start,
        content_hash=content_hash(text, "t", None, None),
    )  # fmt: skip


def spans_text(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


def test_sentences_respect_abbreviations_and_initials() -> None:
    text = "Mr. Smith met J. Doe in the U.S. on Monday. Prices rose 3.5 percent! Why? Nobody knows."
    assert spans_text(text) == [
        "Mr. Smith met J. Doe in the U.S. on Monday.",
        "Prices rose 3.5 percent!",
        "Why?",
        "Nobody knows.",
    ]


def test_blank_line_ends_a_sentence_and_tokenized_text_splits() -> None:
    assert spans_text("A heading\n\nBody text . Next one .") == [
        "A heading",
        "Body text .",
        "Next one .",
    ]


def test_chunks_are_whole_sentences_with_exact_offsets_and_overlap() -> None:
    sentences = [f"Sentence number {i} talks about topic {i} in some detail." for i in range(60)]
    text = "date 2020-01-01 " + " ".join(sentences)
    d = doc(text, body_start=16)
    chunks = chunk_document(d, size=300, overlap=120)
    assert len(chunks) > 5
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.text.startswith("Sentence") and chunk.text.endswith(".")
        assert len(chunk.text) <= 300
        assert all(chunk.start <= s < e <= chunk.end for s, e in chunk.sentences)
    for prev, nxt in itertools.pairwise(chunks):
        assert nxt.start < prev.end, "consecutive chunks share whole sentences"
        assert nxt.start > prev.start
    covered = " ".join(c.text for c in chunks)
    assert all(s in covered for s in sentences)


def test_a_run_without_punctuation_is_split_at_whitespace() -> None:
    text = "word " * 1000
    spans = split_sentences(text)
    assert len(spans) > 1 and all(e - s <= MAX_SENTENCE for s, e in spans)
    assert all(text[s:e].startswith("word") and text[s:e].endswith("word") for s, e in spans)


def test_a_long_sentence_divides_into_clauses_without_its_attribution() -> None:
    lede = (
        "US and Venezuelan officials have discussed the possibility of easing oil sanctions "
        "on Venezuela but made scant progress toward a deal in their first high-level "
        "bilateral talks in years, five sources familiar with the matter said, as Washington "
        "seeks to separate Russia from one of its key allies."
    )
    assert clauses(lede) == [
        "US and Venezuelan officials have discussed the possibility of easing oil sanctions "
        "on Venezuela",
        "but made scant progress toward a deal in their first high-level bilateral talks in years",
        "as Washington seeks to separate Russia from one of its key allies.",
    ]
    # A short sentence, or one without a break, stays whole; a short piece joins its neighbour.
    assert clauses("Caracas used the talks to press for US sanctions relief.") == []
    assert clauses(" ".join(["word"] * 20)) == []
    assert clauses(
        "In 2019, as part of US sanctions on Venezuela, another bank widely used for trade "
        "with Russia was blacklisted."
    ) == [
        "In 2019, as part of US sanctions on Venezuela",
        "another bank widely used for trade with Russia was blacklisted.",
    ]


def test_chunk_ids_are_content_derived() -> None:
    a = chunk_document(doc("One fact. Two facts."))
    b = chunk_document(doc("One fact. Two facts."))
    c = chunk_document(doc("One fact. Three facts."))
    assert [x.id for x in a] == [x.id for x in b]
    assert a[0].id != c[0].id
