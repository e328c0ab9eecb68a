"""The date window a news question's time words name ("last week", "in March 2022", "since
1 March"), relative to the as-of date; ``qa.timeframe`` reads the rest of what it says about time.

Rules find the expressions; dateparser reads the absolute dates they contain ("7th of March
2022", "Sept. 5"); the LLM never does. Every window is inclusive, relative to the as-of date,
and never reaches past it; an expression that lies wholly after as-of ("in 2030") is not a
window and stays in the query as words.

Years and month names are often not time at all ("the 2022 FIFA World Cup", "Boeing 737",
"Jan Novak", "May I ask"), so the rules are conservative: a month with a day or a year, an ISO
date, or a relative phrase ("last week") is a window anywhere; a bare year, a bare month name
or a weekday is one only right after a temporal preposition ("in 2019", "since March",
"on Sunday"), and a bare year only when what follows it is punctuation, the end, or a function
word ("in 2019 the", not "in 2019 elections" or "after 2000 people").

Readings: "last week" is the previous Monday–Sunday; "this week/month/year" runs from its start
to as-of; "in March" is the most recent March that has begun; "on Sunday" the most recent
Sunday before as-of; "over the weekend" the most recent Saturday–Sunday that has begun; "the
last 10 days" as-of minus 10 days to as-of; "two weeks ago" the Monday–Sunday week holding that
day, "a month ago" that calendar month; "since X" runs from X's start, "after X" from the day
after it, "before X" ends the day before X starts ("before June": June of as-of's year), "until
X" ends with X, with ``OPEN_START`` as their start; early/mid/late take thirds. Windows that
overlap narrow each other; disjoint ones are spanned. "since then" needs the conversation: it is
reported by ``unresolved_expressions`` and makes no window.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta

from qa.dates import DateError, DateRange, parse_iso_date
from qa.quantities import MONTH_ABBREVIATIONS, MONTHS

OPEN_START = date.min  # the start of a window open to the past ("before June")

_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
            "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12}  # fmt: skip
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_N = r"(?:\d{1,3}|" + "|".join(_NUMBERS) + ")"
_UNIT = r"(?P<unit§>day|week|month|year)"
_PERIOD = r"(?P<unit§>week|month|year)(?!\s+of\b)"  # not "the last week of March"
_MONTH_FULL = "|".join(MONTHS)
# Abbreviations, longest first ("sept" before "sep"); "may" is already a full name.
_MONTH_SHORT = "|".join(sorted(set(MONTH_ABBREVIATIONS) - set(MONTHS), key=lambda m: (-len(m), m)))
_MONTH = r"(?:" + _MONTH_FULL + r"|(?:" + _MONTH_SHORT + r")\.?)(?![a-z])"
_DAY = r"(?<!\d)(?:3[01]|[12]\d|0?[1-9])(?:st|nd|rd|th)?(?!\d)"
_YEAR = r"(?<![\d$£€#/.,])(?<!\d-)(?:19|20)\d{2}(?!\d|[-/.,]\d)"
_MOD = r"(?:(?P<mod§>early|mid-?|late)\s*)?"

# One calendar point; § makes group names unique when a pattern holds two points.
_POINT = (
    r"(?:(?P<iso§>(?<![\d-])\d{4}-\d{2}(?:-\d{2})?(?![\d-]))"
    r"|(?P<dmy§>(?:the\s+)?" + _DAY + r"\s+(?:of\s+)?" + _MONTH + r"(?:,?\s+" + _YEAR + r")?)"
    r"|(?P<mdy§>" + _MONTH + r"\s+" + _DAY + r"(?:,?\s+" + _YEAR + r")?)"
    r"|" + _MOD + r"(?:(?P<my§>" + _MONTH + r",?\s+" + _YEAR + r")"
    r"|(?P<m§>(?:" + _MONTH_FULL + r")(?![a-z]))|(?P<y§>" + _YEAR + r"))"
    r"|(?P<wd§>(?:(?P<wdlast§>last|this\s+past)\s+)?(?:" + "|".join(_WEEKDAYS) + r")\b)"
    r"|(?P<today§>today)\b|(?P<yesterday§>yesterday)\b"
    r"|(?P<this§>(?:earlier\s+)?this\s+" + _PERIOD + r")\b"
    r"|(?P<last§>(?:last|previous)\s+" + _PERIOD.replace("unit", "lunit") + r")\b"
    r"|(?P<ago§>(?P<agon§>" + _N + r")\s+" + _UNIT.replace("unit", "aunit") + r"s?\s+ago)\b"
    r")"
)
_PREP = r"(?P<prep>in|during|on|since|from|after|before|until|till|through|throughout|as\s+of)"
_FLAGS = re.IGNORECASE
_POINT_RE = re.compile(r"\b(?:" + _PREP + r"\s+)?" + _POINT.replace("§", ""), _FLAGS)
_RANGE_RE = re.compile(
    r"\b(?:between|from)\s+" + _POINT.replace("§", "_a") + r"\s+(?:and|to|until|till|through)\s+"
    + _POINT.replace("§", "_b"), _FLAGS)  # fmt: skip
_ROLLING_RE = re.compile(
    r"\b(?:(?:in|over|during|within|for)\s+)?(?:the\s+)?(?:last|past|previous)\s+"
    r"(?P<n>" + _N + r")\s+" + _UNIT.replace("§", "") + r"s?\b(?!\s+of\b)"
    r"|\b(?:(?:in|over|during|within|for)\s+)?(?:the\s+(?:last|past)|past)\s+"
    + _PERIOD.replace("§", "_1") + r"\b", _FLAGS)  # fmt: skip
_WEEKEND_RE = re.compile(
    r"\b(?:(?:over|at|on|during)\s+the|this(?:\s+past)?|last)\s+weekend\b", _FLAGS
)
_UNRESOLVED_RE = re.compile(
    r"\b(?:since\s+then|since\s+that\s+(?:time|date|day)|back\s+then|at\s+(?:that|the)\s+time(?!\s+of)"
    r"|after\s+that(?=\s*(?:$|[?.!,;])))", _FLAGS)  # fmt: skip
# Words that may follow a bare year that is a time ("in 2019 the talks", "in 2019 and 2020").
_FUNCTION_WORDS = (
    "the a an and or but to when where while as at in on for with from of by before after since"
    " until during did does do was were is are has have had will would could should can it they"
    " he she we who what which that this these those than compared versus vs"
)
_AFTER_YEAR = re.compile(
    r"\s*(?:$|[?.!,;:)]|(?:" + "|".join(_FUNCTION_WORDS.split()) + r")\b)", _FLAGS
)


def find_windows(question: str, as_of: date) -> list[tuple[int, int, DateRange]]:
    """The time expressions of ``question`` in order, as (start, end, window), each window
    ending by ``as_of``; an expression wholly after ``as_of`` is left out."""
    taken: list[tuple[int, int, DateRange]] = []
    rules: list[tuple[re.Pattern[str], Callable[[re.Match[str], str, date], DateRange | None]]]
    rules = [(_RANGE_RE, _range), (_ROLLING_RE, _rolling), (_WEEKEND_RE, _weekend),
             (_POINT_RE, _prefixed)]  # fmt: skip
    for pattern, resolve in rules:
        for match in pattern.finditer(question):
            start, end = match.span()
            if any(start < t_end and t_start < end for t_start, t_end, _ in taken):
                continue
            window = resolve(match, question, as_of)
            if window is not None and window.start <= as_of:
                taken.append((start, end, DateRange(window.start, min(window.end, as_of))))
    taken.sort()
    return taken


def unresolved_expressions(question: str) -> list[str]:
    """The expressions that need the conversation to make a window ("since then")."""
    return [m.group(0) for m in _UNRESOLVED_RE.finditer(question)]


def combine_windows(windows: list[DateRange]) -> DateRange | None:
    """Overlapping windows narrow each other ("in 2022, before June"); disjoint ones are two
    periods being compared ("March 2022 and June 2022"), so the window spans both."""
    if not windows:
        return None
    start, end = max(w.start for w in windows), min(w.end for w in windows)
    if start <= end:
        return DateRange(start, end)
    return DateRange(min(w.start for w in windows), max(w.end for w in windows))


# --- resolving one match -------------------------------------------------------------------


def _prefixed(match: re.Match[str], text: str, as_of: date) -> DateRange | None:
    """A point with an optional preposition: "in March", "since 1 March 2022", "before 2019"."""
    prep = (match.group("prep") or "").lower()
    kind = _kind(match, "")
    if kind in ("m", "y", "wd") and not prep and not match.group("wdlast"):
        return None  # bare month names, years and weekdays need a preposition
    if kind == "y" and not _AFTER_YEAR.match(text, match.end()):
        return None  # "in 2022 World Cup", "after 2000 people"
    if kind == "m" and re.match(r"\s+[A-Z0-9]", text[match.end() :]):
        return None  # "in Jan Novak's office"
    period = _point(match, "", as_of, this_year=prep in ("before", "until", "till", "as of"))
    if period is None:
        return None
    return _apply(prep, period, as_of)


def _apply(prep: str, period: DateRange, as_of: date) -> DateRange:
    """The window a preposition makes of a period."""
    one = timedelta(days=1)
    if prep in ("since", "from"):
        return DateRange(period.start, as_of)
    if prep == "after":
        return DateRange(period.end + one, as_of)
    if prep == "before":
        return DateRange(OPEN_START, period.start - one)
    if prep in ("until", "till", "as of"):
        return DateRange(OPEN_START, period.end)
    return period


def _range(match: re.Match[str], text: str, as_of: date) -> DateRange | None:
    """ "between March and June 2022", "from 2019 to 2021": first start to last end."""
    first = _point(match, "_a", as_of)
    last = _point(match, "_b", as_of)
    if first is None or last is None:
        return None
    if _kind(match, "_b") == "y" and not _AFTER_YEAR.match(text, match.end()):
        return None  # "from 1990 to 2000 people"
    if last.end < first.start and _kind(match, "_b") == "m":  # "between March and June" in April
        start = last.start.replace(year=first.start.year)
        last = _month(start.year, start.month)
    return DateRange(min(first.start, last.start), max(first.end, last.end))


def _rolling(match: re.Match[str], text: str, as_of: date) -> DateRange:
    """ "the last 3 weeks", "in the past month": the span ending at as-of."""
    count = _count(match.group("n")) if match.group("n") else 1
    unit = (match.group("unit") or match.group("unit_1")).lower()
    return DateRange(_back(as_of, count, unit), as_of)


def _weekend(match: re.Match[str], text: str, as_of: date) -> DateRange:
    """ "over the weekend": the most recent Saturday–Sunday that has begun by as-of."""
    saturday = as_of - timedelta(days=(as_of.weekday() - 5) % 7)
    return DateRange(saturday, saturday + timedelta(days=1))


def _kind(match: re.Match[str], s: str) -> str:
    names = ("iso", "dmy", "mdy", "my", "m", "y", "wd", "today", "yesterday", "this", "last", "ago")
    return next(name for name in names if match.group(name + s))


def _point(match: re.Match[str], s: str, as_of: date, this_year: bool = False) -> DateRange | None:
    """The period one point names; ``this_year`` reads a bare month in as-of's own year."""
    kind = _kind(match, s)
    value = match.group(kind + s)
    if kind == "iso":
        try:
            return parse_iso_date(value, "question")
        except DateError:  # "2022-02-30": not a date, so not a window
            return None
    if kind in ("dmy", "mdy", "my", "m"):
        period = _absolute(value, as_of)
        if period is not None and kind == "m" and this_year:
            period = _month(as_of.year, period.start.month)
        return _part(period, match.group("mod" + s)) if period else None
    if kind == "y":
        year = int(value)
        return _part(DateRange(date(year, 1, 1), date(year, 12, 31)), match.group("mod" + s))
    if kind == "wd":
        weekday = _WEEKDAYS.index(value.split()[-1].lower())
        day = as_of - timedelta(days=(as_of.weekday() - weekday - 1) % 7 + 1)
        return DateRange(day, day)
    if kind in ("today", "yesterday"):
        day = as_of - timedelta(days=kind == "yesterday")
        return DateRange(day, day)
    if kind == "this":
        return DateRange(_unit_start(as_of, match.group("unit" + s).lower()), as_of)
    if kind == "last":
        unit = match.group("lunit" + s).lower()
        return _unit_of(_unit_start(as_of, unit) - timedelta(days=1), unit)
    unit = match.group("aunit" + s).lower()  # "3 days ago", "two weeks ago"
    count = _count(match.group("agon" + s))
    if unit == "day":
        day = as_of - timedelta(days=count)
        return DateRange(day, day)
    return _unit_of(_back(as_of, count, unit), unit)


def _absolute(text: str, as_of: date) -> DateRange | None:
    """A date written out in words, read by dateparser; the most recent one when no year."""
    from dateparser.date import DateDataParser  # ~0.1 s on first use; most questions never get here

    settings = {
        "RELATIVE_BASE": datetime(as_of.year, as_of.month, as_of.day),
        "PREFER_DATES_FROM": "past",
        "PREFER_DAY_OF_MONTH": "first",
        "PARSERS": ["absolute-time"],
    }
    data = DateDataParser(languages=["en"], settings=settings).get_date_data(text)
    if data.date_obj is None:  # "30 February 2022"
        return None
    day = data.date_obj.date()
    if data.period == "month":
        return _month(day.year, day.month)
    if data.period == "year":
        return DateRange(date(day.year, 1, 1), date(day.year, 12, 31))
    return DateRange(day, day)


# --- calendar arithmetic -------------------------------------------------------------------


def _count(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBERS[word.lower()]


def _month(year: int, month: int) -> DateRange:
    following = date(year + month // 12, month % 12 + 1, 1)
    return DateRange(date(year, month, 1), following - timedelta(days=1))


def _unit_start(day: date, unit: str) -> date:
    if unit == "day":
        return day
    if unit == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1) if unit == "month" else day.replace(month=1, day=1)


def _unit_of(day: date, unit: str) -> DateRange:
    """The calendar day, week (Monday–Sunday), month or year that holds ``day``."""
    start = _unit_start(day, unit)
    if unit in ("day", "week"):
        return DateRange(start, start + timedelta(days=0 if unit == "day" else 6))
    if unit == "month":
        return _month(start.year, start.month)
    return DateRange(start, date(start.year, 12, 31))


def _back(day: date, count: int, unit: str) -> date:
    """``count`` units before ``day`` (month ends clamp: 31 March - 1 month = 28 February)."""
    if unit in ("day", "week"):
        return day - timedelta(days=count * (7 if unit == "week" else 1))
    months = day.year * 12 + day.month - 1 - count * (12 if unit == "year" else 1)
    year, month = divmod(months, 12)
    return date(year, month + 1, min(day.day, _month(year, month + 1).end.day))


def _part(period: DateRange, mod: str | None) -> DateRange:
    """Early, mid or late: days 1-10, 11-20, 21-end of a month; Jan-Apr, May-Aug, Sep-Dec."""
    if not mod:
        return period
    index = {"early": 0, "mid": 1, "mid-": 1, "late": 2}[mod.lower()]
    start = period.start
    if period.end.month == 12 and start.month == 1:  # a year
        first, last = _month(start.year, 4 * index + 1), _month(start.year, 4 * index + 4)
        return DateRange(first.start, last.end)
    first_day = start + timedelta(days=10 * index)
    return DateRange(first_day, period.end if index == 2 else first_day + timedelta(days=9))
