"""Numbers and dates in text, found by rules: digits and number words ("five" = "5"),
amounts (a number with a unit, a currency, a percentage), years, months, weekdays and
relative days."""

from __future__ import annotations

import re

NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "thousand": 1000,
    "million": 1_000_000, "billion": 1_000_000_000, "dozen": 12, "both": 2, "twice": 2,
    "half": 0.5, "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5,
}  # fmt: skip
# "one" is a pronoun as often as a number ("one of the sources"): it is no fact to check.
_WEAK_NUMBERS = frozenset({"one", "first"})
SCALES = frozenset({"hundred", "thousand", "million", "billion", "trillion", "dozen"})
UNITS = frozenset(
    """percent per cent % dollar dollars usd $ euro euros € pound pounds £ yen yuan bolivar
    bolivars barrel barrels bpd tonne tonnes ton tons kilogram kilograms kg gram grams mile miles
    kilometre kilometres kilometer kilometers km metre metres meter meters acre acres hectare
    hectares litre litres liter liters gallon gallons watt watts megawatt megawatts cubic
    square points point degree degrees celsius fahrenheit""".split()
)
MONTHS = {
    m: i
    for i, m in enumerate(
        "january february march april may june july august september october november december"
        .split(), start=1,
    )
}  # fmt: skip
MONTH_ABBREVIATIONS = {m[:3]: i for m, i in MONTHS.items()} | {"sept": 9}
WEEKDAYS = frozenset("monday tuesday wednesday thursday friday saturday sunday".split())
TIME_WORDS = frozenset(
    """today yesterday tomorrow tonight week weekend month year decade century morning evening
    night spring summer autumn fall winter ago since until recently earlier later""".split()
)

# Word tokens and numbers, as the fact checks read text.
TOKEN = re.compile(r"[A-Za-z][A-Za-z.'’-]*|\d[\d,.]*%?|[$€£%]")
_DIGITS = re.compile(r"\d+(?:[.,]\d+)*")
_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)s?\b")
_POSSESSIVE = re.compile(r"['’]s$")


def normalize_number(token: str) -> str | None:
    """A number as a canonical string ("5", "1500", "0.5"), or None."""
    word = token.lower().strip(".,")
    if word in NUMBER_WORDS and word not in _WEAK_NUMBERS:
        value = NUMBER_WORDS[word]
        return str(int(value)) if float(value).is_integer() else str(value)
    if _DIGITS.fullmatch(word.rstrip("%")):
        digits = word.rstrip("%").replace(",", "")
        try:
            value = float(digits)
        except ValueError:
            return None
        return str(int(value)) if value.is_integer() else str(value)
    return None


def numbers(text: str) -> set[str]:
    """Every number the text states, digits and words alike ("five" = "5", "both" = "2")."""
    found = set()
    for token in TOKEN.findall(text):
        value = normalize_number(token)
        if value is not None:
            found.add(value)
    return found


_DEGREES = re.compile(r"\d\s*°")


def has_quantity(text: str) -> bool:
    """An amount: a number with a unit, a currency, a percentage or a scale word."""
    if _DEGREES.search(text):
        return True
    tokens = [t.lower().strip(".,;:'’") for t in TOKEN.findall(text)]
    for i, token in enumerate(tokens):
        if normalize_number(token) is None and token not in SCALES:
            continue
        window = tokens[max(0, i - 1) : i + 3]
        if any(w in UNITS or w in SCALES or w.endswith("%") for w in window):
            return True
    return False


def has_count(text: str) -> bool:
    return any(normalize_number(t) is not None for t in TOKEN.findall(text))


def has_date(text: str) -> bool:
    """A year, a month, a weekday, or a relative day ("yesterday", "last week")."""
    if _YEAR.search(text):
        return True
    # A possessive names the day too: "Saturday's meeting".
    words = {_POSSESSIVE.sub("", w.lower().strip(".,")) for w in TOKEN.findall(text)}
    months = set(MONTHS) | {m for m in MONTH_ABBREVIATIONS if len(m) > 3}
    return bool(words & (months | WEEKDAYS | TIME_WORDS))
