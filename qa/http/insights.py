"""``GET /v1/insights``: what the collections fail to answer, for admins (403 for others).

Refused questions and thumbs-down of every user, grouped by their nearest document or by
question similarity (the server's own embedding model), with counts per week; as JSON or
as CSV for a spreadsheet.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse, Response

from qa.dates import FORMS, DateError, parse_iso_date
from qa.http.context import Ctx, caller
from qa.people.insights import Insights, to_csv
from qa.service import InvalidRequest

router = APIRouter(tags=["feedback"])


def since_of(value: str | None) -> datetime | None:
    """The start (UTC midnight) of an ISO date, month or year; None for none."""
    if not value:
        return None
    try:
        day = parse_iso_date(value, "since").start
    except DateError:
        raise InvalidRequest("since", f"{value!r} is not a date; use {FORMS}") from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@router.get("/v1/insights", response_model=Insights)
def insights(
    ctx: Ctx,
    request: Request,
    format: Literal["json", "csv"] = "json",
    collection: Annotated[
        list[str] | None, Query(description="only turns answered from these collections")
    ] = None,
    since: Annotated[str | None, Query(description=f"only from this date on; {FORMS}")] = None,
) -> Insights | Response:
    """Refused and thumbed-down questions, grouped, with counts per week (admins only)."""
    report = ctx.people.insights(
        caller(request), ctx.assistant.embeddings.embed_documents, collection, since_of(since)
    )
    if format == "csv":
        return PlainTextResponse(
            to_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="citeqa-insights.csv"'},
        )
    return report
