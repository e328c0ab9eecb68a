"""Text matching for scoring: expected strings, gold sentences, and claim support.

Written apart from citeqa's own verifier (``qa.citations``) on purpose: a metric that reused
the code it measures would agree with it by construction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# A number inside a longer number ("10" in "2010", "3" in "3.5") is not that number.
_BEFORE = r"(?<![^\W_])(?<!\d[.,])"
_AFTER = r"(?![^\W_])(?![.,]\d)"
_MARKERS = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
_LEADING_MARKERS = re.compile(r"\A(?:\s*\[\d+(?:\s*,\s*\d+)*\])+")
# A sentence ends at . ! ? (then any closing quote, bracket or [n] marker) before the end or
# a space and a capital, digit or quote, but not after an initial ("U.S. officials").
_SENTENCE_END = re.compile(
    r"""(?<![\s.][A-Za-z])(?<!\A[A-Za-z])[.!?]+["'’”)]*(?:\s*\[\d+(?:\s*,\s*\d+)*\])*"""
    r"""(?=\s*\Z|\s+["'“‘(\[]?[A-Z0-9])"""
)
_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof st jr sr gen gov sen rep lt col capt sgt rev hon no vs etc inc ltd co
    corp dept jan feb mar apr jun jul aug sep sept oct nov dec""".split()
)
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+(?:['’][^\W\d_]+)*")
# Function words only: negations and modals are kept, since they change what a claim says.
_STOPWORDS = frozenset(
    """a an the and or but if then so as of in on at to for from by with about into onto over
    under after before between during through than that this these those there here it its
    it's they them their theirs he him his she her hers we our you your i me my is are was
    were be been being am do does did has have had having which who whom whose what when where
    why how also just both each either such very said says according yes""".split()
)


def squash(text: str) -> str:
    """Collapse runs of whitespace to one space and trim."""
    return " ".join(text.split())


def _fold(text: str) -> str:
    """Case- and spacing-insensitive form; typographic apostrophes become plain ones."""
    return squash(text).replace("’", "'").casefold()


def contains_phrase(text: str, phrase: str) -> bool:
    """Whether ``phrase`` occurs in ``text`` as whole words and whole numbers, ignoring case
    and spacing: "10" does not occur in "2010", "elect" not in "elections"."""
    wanted = _fold(phrase)
    if not wanted:
        return False
    return re.search(_BEFORE + re.escape(wanted) + _AFTER, _fold(text)) is not None


def contains_expected(
    text: str, expected: Sequence[str], any_of: Sequence[str] = ()
) -> bool | None:
    """Whether the answer holds every ``expected`` phrase and, when ``any_of`` is given, at
    least one of those; None when the item lists neither."""
    if not expected and not any_of:
        return None
    return all(contains_phrase(text, e) for e in expected) and (
        not any_of or any(contains_phrase(text, a) for a in any_of)
    )


def same_sentence(quote: str, gold: str) -> bool:
    """Whether a quote is the gold sentence: equal once whitespace is normalised. A fragment
    of it, or a passage that merely contains it, is not the sentence."""
    q = squash(quote)
    return bool(q) and q == squash(gold)


@dataclass(frozen=True)
class ClaimCheck:
    """One sentence of an answer, the markers after it, and whether its cited quotes hold it."""

    text: str
    markers: tuple[int, ...]
    missing: tuple[str, ...]
    supported: bool


def claims(answer: str) -> list[tuple[str, tuple[int, ...]]]:
    """The answer's sentences with the ``[n]`` markers attached to each, markers removed from
    the text. A marker group opening a sentence belongs to the sentence before it."""
    parts: list[tuple[str, list[int]]] = []
    start = 0
    ends = [m.end() for m in _SENTENCE_END.finditer(answer) if not _after_abbreviation(answer, m)]
    for end in [*ends, len(answer)]:
        raw = answer[start:end]
        start = end
        leading = _LEADING_MARKERS.match(raw)
        if leading and parts:
            parts[-1][1].extend(_numbers(leading.group(0)))
            raw = raw[leading.end() :]
        text = squash(_MARKERS.sub("", raw))
        if text.strip(" .!?"):
            parts.append((text, _numbers(raw)))
    return [(text, tuple(dict.fromkeys(markers))) for text, markers in parts]


def _after_abbreviation(text: str, end: re.Match[str]) -> bool:
    """Whether a sentence end is the full stop of an abbreviation ("Mr. Black")."""
    word = re.search(r"([A-Za-z]+)\.$", text[: end.start() + 1])
    return word is not None and word.group(1).lower() in _ABBREVIATIONS


def _numbers(text: str) -> list[int]:
    """The citation numbers of every marker group in ``text``."""
    return [int(n) for group in _MARKERS.findall(text) for n in re.split(r"\s*,\s*", group)]


def key_terms(text: str) -> list[str]:
    """What a claim asserts, as comparable terms: its content words (lightly stemmed; negations
    and modals kept) and all its numbers, whole."""
    return list(dict.fromkeys(_term(t) for t in _TOKEN.findall(_fold(text)) if t not in _STOPWORDS))


def _term(token: str) -> str:
    """A token reduced to a comparable form: possessive dropped, common suffixes stripped."""
    if token[0].isdigit():
        return token.replace(",", "")
    token = re.sub(r"'s$", "", token)
    for suffix, replacement in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            token = token[: -len(suffix)] + replacement
            break
    return token[:-1] if token.endswith("e") and len(token) > 4 else token


def check_claims(answer: str, quotes: Mapping[int, str]) -> list[ClaimCheck]:
    """Each claim of an answer against the quotes its markers cite (``quotes``: marker → quote).

    A claim is supported when every key term of it is in the quotes it cites; a claim with no
    marker, or only markers that name no citation, is not. Claims with no key term (a bare
    "Yes.") are left out. Lexical, so a correct paraphrase fails it: a lower bound.
    """
    checks = []
    for text, markers in claims(answer):
        terms = key_terms(text)
        if not terms:
            continue
        cited = " ".join(quotes[m] for m in markers if m in quotes)
        held = set(key_terms(cited))
        missing = tuple(t for t in terms if t not in held)
        checks.append(ClaimCheck(text, markers, missing, bool(cited) and not missing))
    return checks
