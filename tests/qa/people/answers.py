"""Answers shaped like the chain's: citations with offsets and dates, sources, timings, trace."""

from __future__ import annotations

from qa.types import Answer, Citation, Source

NOT_FOUND = "I could not find this in the documents."


def cited_answer(question: str = "What concessions did the US offer?") -> Answer:
    return Answer(
        question=question,
        standalone_question=None,
        text="The US offered to ease oil sanctions [1] and to free prisoners [2].",
        citations=[
            Citation(
                marker=1,
                doc_id="reuters-1",
                title="US, Venezuela hold talks",
                date="2022-03-07",
                source="reuters-2022-03-07.txt",
                chunk_id="reuters-1:abc:0",
                quote="Washington offered to ease oil sanctions.",
                start=120,
                end=161,
                support=0.82,
                verified=True,
            ),
            Citation(
                marker=2,
                doc_id="memo-9",
                title="Prisoner *exchange* memo",
                date=None,
                source="memo.pdf",
                chunk_id="memo-9:def:3",
                quote="Two prisoners\nwere to be freed.",
                start=10,
                end=41,
                support=0.6,
                verified=True,
                page=4,
            ),
        ],
        sources=[source("reuters-1", "US, Venezuela hold talks")],
        abstained=False,
        mode="extractive",
        timings={"retrieve": 0.012, "generate": 0.5},
        trace={"gate": {"decision": "answer", "support": 0.82}, "ranks": [1, 2, 3]},
    )


def source(doc_id: str, title: str, date: str | None = "2022-03-07") -> Source:
    return Source(
        doc_id=doc_id,
        title=title,
        date=date,
        source=f"{doc_id}.txt",
        chunk_id=f"{doc_id}:0",
        text="Some passage.",
        start=0,
        end=13,
        score=0.4,
    )


def refusal(question: str, closest: list[tuple[str, str]] | None = None) -> Answer:
    """An abstention: NOT_FOUND with the closest sources (doc_id, title), possibly none."""
    return Answer(
        question=question,
        text=NOT_FOUND,
        sources=[source(d, t) for d, t in closest or []],
        abstained=True,
        mode="extractive",
        trace={"gate": {"decision": "refuse"}},
    )
