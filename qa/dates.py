"""Strict ISO dates at the edges: ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``, nothing else.

A looser reading ("2022-1-1" as 202211) once matched every document silently; a date a
person typed either means one exact range or is an error that names its field.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

_ISO = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
FORMS = "YYYY-MM-DD, YYYY-MM or YYYY"


class DateError(ValueError):
    """A date that is not one of the accepted forms; ``field`` names where it came from."""

    def __init__(self, field: str, value: object) -> None:
        self.field = field
        super().__init__(f"{field}: {value!r} is not a date; use {FORMS}")


@dataclass(frozen=True)
class DateRange:
    """Inclusive first and last day."""

    start: date
    end: date

    def __contains__(self, day: date) -> bool:
        return self.start <= day <= self.end


def parse_iso_date(value: object, field: str) -> DateRange:
    """The days an ISO date means: a day, a whole month or a whole year."""
    match = _ISO.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise DateError(field, value)
    year, month, day = (int(g) if g else None for g in match.groups())
    assert year is not None
    try:
        if month is None:
            return DateRange(date(year, 1, 1), date(year, 12, 31))
        if day is None:
            last = calendar.monthrange(year, month)[1]
            return DateRange(date(year, month, 1), date(year, month, last))
        return DateRange(date(year, month, day), date(year, month, day))
    except ValueError:  # month 13, 30 February, year 0
        raise DateError(field, value) from None
