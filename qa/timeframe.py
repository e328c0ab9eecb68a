"""Time in a news question: the date window it names, whether it asks for the current state,
and the question without its time words (they are not search terms); and how time narrows and
weighs a search (``TimeScope``).

The window is read by rules in ``qa.date_window``. The current state is asked for by explicit
words ("latest", "now", "still") or by a present-tense question about a state that changes over
time ("Who leads the talks?"), and only in a question that names no window.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from qa.date_window import OPEN_START, combine_windows, find_windows, unresolved_expressions
from qa.dates import DateRange

_FLAGS = re.IGNORECASE

# Recency: explicit words, then present-tense questions about a state that changes over time.
_RECENCY_RE = re.compile(
    r"\b(?:latest|newest|most\s+recent|recent|recently|now|nowadays|currently"
    r"|(?:the|its|his|her|their|our)\s+current"  # not "direct current", "current species"
    r"|at\s+the\s+moment|at\s+present|presently|these\s+days|so\s+far|to\s+date|yet|still"
    r"|any\s?more)\b", _FLAGS)  # fmt: skip
_STATE = ("lead", "head", "run", "chair", "hold", "control", "own", "offer", "want", "demand",
          "seek", "propose", "plan", "support", "oppose", "insist", "require", "represent",
          "remain", "govern", "manage", "negotiate", "mediate", "expect", "ask", "pay",
          "charge", "employ", "operate")  # fmt: skip
_DOUBLED = {"plan": "planning", "control": "controlling"}
_STATE_S = "|".join(v + "s" for v in _STATE)
# "running" is left out: it is mostly an adjective in questions ("the longest running show").
_STATE_ING = "|".join(_DOUBLED.get(v, v.removesuffix("e") + "ing") for v in _STATE if v != "run")
# Roles that change hands: "Who is the lead negotiator?" asks for now, "Who is the author?" not.
_ROLES = (
    r"leaders?|heads?|chiefs?|president|(?:prime\s+)?minister|negotiators?|ceo|chair\w*|director"
    r"|governor|spokes\w+|mayor|owners?|secretary|envoy|commander|coach|manager|captain"
)
_CLAUSE = r"(?:^|[.?!;:]\s+)(?:and\s+|so\s+|but\s+)?"
_WH = r"(?:who|what|which\s+\w+(?:\s+\w+)?|how\s+much|how\s+many)"
_STATE_RE = re.compile(
    _CLAUSE + r"(?:"
    r"(?:who|which\s+\w+(?:\s+\w+)?)\s+(?:" + _STATE_S + r")\b"  # not "what offers", a noun
    r"|" + _WH + r"\s+(?:is|are|'s)\s+(?:[\w'-]+\s+){0,5}?(?:" + _STATE_ING + r")\b"
    r"|" + _WH + r"\s+(?:does|do)\s+(?:[\w'-]+\s+){1,5}?(?:" + "|".join(_STATE) + r")\b"
    r"|who\s+(?:is|are|'s)\s+(?:in\s+charge|responsible|(?:now\s+)?the\s+(?:[\w-]+\s+){0,2}?"
    r"(?:" + _ROLES + r"))\b"
    r"|how\s+(?:large|big|much|many|high|low)\s+(?:is|are)\b"
    r"|(?:is|are)\s+(?:[\w'-]+\s+){1,4}?(?:" + _STATE_ING + r")\b"
    r"|what\s+(?:is|are)\s+(?:the\s+)?(?:[\w'-]+\s+)?(?:status|state|position|stance|situation"
    r"|offer|terms)\b)", _FLAGS)  # fmt: skip


@dataclass(frozen=True)
class TimeIntent:
    """What a question says about time; ``window`` is inclusive, ``OPEN_START`` when open."""

    window: DateRange | None
    recency: bool
    query: str
    expressions: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)  # needs the conversation: "since then"
    cue: str | None = None  # the words that made it a recency question, for the trace
    # The window was tried and its articles could not answer: the question went to all dates.
    window_dropped: bool = False

    def trace(self) -> dict[str, object]:
        """The JSON-able record ``Answer.trace`` carries."""
        window = None
        if self.window is not None:
            start = None if self.window.start == OPEN_START else self.window.start.isoformat()
            window = [start, self.window.end.isoformat()]
        return {"window": window, "recency": self.recency, "recency_cue": self.cue,
                "expressions": self.expressions, "unresolved": self.unresolved,
                "window_dropped": self.window_dropped}  # fmt: skip


def understand(question: str, as_of: date) -> TimeIntent:
    """The time window, recency and search query of ``question`` asked on ``as_of``."""
    taken = find_windows(question, as_of)
    unresolved = unresolved_expressions(question)
    window = combine_windows([w for _, _, w in taken])
    cue = None
    if window is None:
        found = _RECENCY_RE.search(question) or _STATE_RE.search(question)
        cue = found.group(0).strip(" .?!;:") if found else None
    return TimeIntent(
        window=window,
        recency=cue is not None,
        query=_without(question, [(s, e) for s, e, _ in taken]),
        expressions=[question[s:e] for s, e, _ in taken],
        unresolved=unresolved,
        cue=cue,
    )


@dataclass(frozen=True)
class TimeScope:
    """How time narrows and weighs one search: the question's window (explicit: dated
    documents inside it only), the as-of bound (nothing dated after it; undated kept), and a
    recency prior relative to ``recency_as_of`` when the question asks for the latest."""

    window: DateRange | None = None
    until: date | None = None
    recency_as_of: date | None = None
    half_life_days: float = 30.0
    strength: float = 0.8

    def prior(self, doc_date: str | None) -> float:
        """The factor a document's score takes: 1 for today's news or an undated document,
        down to ``1 - strength`` for very old news."""
        if self.recency_as_of is None:
            return 1.0
        day = date.fromisoformat(doc_date) if doc_date else None
        weight = recency_weight(day, self.recency_as_of, self.half_life_days)
        return (1 - self.strength) + self.strength * weight


def recency_weight(doc_date: date | None, as_of: date, half_life_days: float) -> float:
    """Exponential decay by age: 1.0 at ``as_of``, 0.5 one half-life earlier; undated → 1.0.

    A document dated after ``as_of`` is not evidence (the window drops it); it gets 1.0 here
    rather than a boost above the newest admissible article.
    """
    if half_life_days <= 0:
        raise ValueError(f"half_life_days must be positive, got {half_life_days}")
    if doc_date is None:
        return 1.0
    age = max((as_of - doc_date).days, 0)
    return float(0.5 ** (age / half_life_days))


def _without(question: str, spans: list[tuple[int, int]]) -> str:
    """The question with the spans cut and the seams tidied; the rest is kept verbatim."""
    if not spans:
        return question
    parts, last = [], 0
    for start, end in spans:
        parts.append(question[last:start])
        last = end
    parts.append(question[last:])
    query = re.sub(r"[ \t]{2,}", " ", "".join(parts))
    query = re.sub(r"\s+([?.!,;:])", r"\1", query).strip().lstrip(",;: ")
    return query if query.strip(" ?.!") else question
