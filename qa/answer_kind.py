"""What kind of answer a question wants, and whether a text can give it.

"How much" needs an amount, "how many" a number, "when" a date or day, "who" a name. On-topic
evidence without one cannot answer the question, however similar it is (MiniLM alone does
not separate "How much oil does Venezuela export?" from answerable questions).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum

from qa.lexicon import names
from qa.quantities import WEEKDAYS, has_count, has_date, has_quantity, normalize_number


class Kind(StrEnum):
    AMOUNT = "amount"
    COUNT = "count"
    DATE = "date"
    FUTURE_DATE = "date still to come"
    NAME = "name"
    ANY = "any"


_FUTURE = re.compile(
    r"\b(?:will|next|upcoming|planned|scheduled|expected|due|set for|is to|are to|later this)\b",
    re.I,
)
_RULES = [
    (re.compile(r"^\s*when\s+(?:will|would|is\s+\w+\s+(?:going|expected|due|set|scheduled))"
                r"|^\s*when\b.*\b(?:next|upcoming)\b", re.I), Kind.FUTURE_DATE),
    (re.compile(r"^\s*how\s+(?:much|large|big|long|far|tall|high|heavy|old|fast)\b", re.I),
     Kind.AMOUNT),
    (re.compile(r"^\s*how\s+many\b|^\s*what\s+(?:is|was|are|were)\s+the\s+number\s+of\b",
                re.I), Kind.COUNT),
    (re.compile(r"^\s*what\s+(?:is|was|are|were)\s+the\s+(?:average\s+|total\s+|current\s+)?"
                r"(?:population|temperature|price|cost|height|length|distance|weight|area|"
                r"depth|salary|speed|budget|value)\b", re.I), Kind.AMOUNT),
    (re.compile(r"^\s*(?:when\b|(?:in\s+)?what\s+(?:year|month|day|date|time)\b|"
                r"(?:on\s+)?which\s+(?:year|month|day|date)\b|since\s+when\b)", re.I), Kind.DATE),
    (re.compile(r"^\s*(?:who|whom|whose)\b", re.I), Kind.NAME),
]  # fmt: skip
# The day a report was made ("..., the sources said on Sunday") is no date of what it
# reports: "When did the talks happen?" is not answered by it.
_REPORTED_ON = re.compile(
    r"\b(?:said|says|told\s+\w+|reported|added|declined\s+comment)\s+(?:late\s+|early\s+)?"
    rf"(?:on\s+)?(?:{'|'.join(sorted(WEEKDAYS | {'yesterday', 'today'}))})\b",
    re.I,
)
_ABOUT_SAYING = re.compile(r"\b(?:say|said|says|tell|told|report|reported|announce|comment)", re.I)
# Dates are judged in ``holds`` (the question decides whether a report's day counts).
_HOLDS: dict[Kind, Callable[[str], bool]] = {
    Kind.AMOUNT: lambda text: has_quantity(text) or _duration(text),
    Kind.COUNT: has_count,
    Kind.NAME: lambda text: bool(names(text)),
    Kind.ANY: lambda text: True,
}
_DURATION = re.compile(r"(?:years?|months?|weeks?|days?|hours?|minutes?|seconds?)", re.I)
# "How old is ...?" is answered by when it began: "born 13 April 1953", "built in 1889".
_AGE = re.compile(r"^\s*how\s+old\b", re.I)
_WORD = re.compile(r"[\w.,%-]+")


def _duration(text: str) -> bool:
    """A number of time units ("about 40 years", "two more weeks"): "two sources said ...
    in recent days" is a count and a time word, not a duration."""
    words = [w.strip(".,") for w in _WORD.findall(text)]
    return any(
        normalize_number(word) is not None
        and any(_DURATION.fullmatch(w) for w in words[i + 1 : i + 3])
        for i, word in enumerate(words)
    )


# The words that ask for the kind ("How many", "In what year"): a sentence answering the
# question holds a number or a date, not these words.
_ASKING_KIND = re.compile(
    r"^\s*(?:how\s+(?:many|much|large|big|long|far|tall|high|heavy|old|fast)"
    r"|(?:in\s+|on\s+)?(?:what|which)\s+(?:year|month|day|date|time)"
    r"|what\s+(?:is|was|are|were)\s+the\s+number\s+of|since\s+when|when)\b",
    re.I,
)


def topic(question: str) -> str:
    """``question`` without the words asking for its kind of answer: "How many sources
    talked about the talks?" -> "sources talked about the talks?"."""
    return _ASKING_KIND.sub(" ", question, count=1)


def wanted(question: str) -> Kind:
    """The kind of answer ``question`` asks for (``ANY`` when it does not say)."""
    for pattern, kind in _RULES:
        if pattern.search(question):
            return kind
    return Kind.ANY


def holds(kind: Kind, text: str, question: str = "") -> bool:
    """Whether ``text`` states something of ``kind`` (for ``question``: one asking when
    something was said is answered by the day it was said)."""
    if kind in (Kind.DATE, Kind.FUTURE_DATE):
        said = _ABOUT_SAYING.search(question)
        dated = has_date(text if said else _REPORTED_ON.sub(" ", text))
        return dated and (kind is Kind.DATE or bool(_FUTURE.search(text)))
    if kind is Kind.AMOUNT and _AGE.search(question) and has_date(text):
        return True
    return _HOLDS[kind](text)
