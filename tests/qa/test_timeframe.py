"""Time in questions: each expression's window for a fixed as-of date, the words that are not
time, recency, strict ISO dates, the recency decay and the evolving-story fixture."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from qa.date_window import OPEN_START
from qa.dates import DateError, DateRange, parse_iso_date
from qa.documents import discover, load_path
from qa.timeframe import recency_weight, understand

AS_OF = date(2022, 8, 10)  # a Wednesday
EVOLVING = Path(__file__).resolve().parents[1] / "fixtures" / "evolving"
OPEN = None  # an open start in the table below


def d(iso: str) -> date:
    return date.fromisoformat(iso)


# question → (first day, last day) of its window, asked on AS_OF; worked out by hand.
WINDOWS = {
    "What happened today?": ("2022-08-10", "2022-08-10"),
    "What happened yesterday?": ("2022-08-09", "2022-08-09"),
    "What did they agree this week?": ("2022-08-08", "2022-08-10"),
    "What did the US offer last week?": ("2022-08-01", "2022-08-07"),
    "What changed this month?": ("2022-08-01", "2022-08-10"),
    "What changed last month?": ("2022-07-01", "2022-07-31"),
    "What happened this year?": ("2022-01-01", "2022-08-10"),
    "Who led the talks last year?": ("2021-01-01", "2021-12-31"),
    "Who led the talks in March 2022?": ("2022-03-01", "2022-03-31"),
    "Who led the March 2022 talks?": ("2022-03-01", "2022-03-31"),
    "What was offered in Sept. 2021?": ("2021-09-01", "2021-09-30"),
    "What was offered in March?": ("2022-03-01", "2022-03-31"),
    "What was offered in december?": ("2021-12-01", "2021-12-31"),
    "What was offered in August?": ("2022-08-01", "2022-08-10"),
    "What happened in 2019?": ("2019-01-01", "2019-12-31"),
    "What was agreed during 2021 and why?": ("2021-01-01", "2021-12-31"),
    "What happened before June?": (OPEN, "2022-05-31"),
    "What happened before December?": (OPEN, "2022-08-10"),
    "What was said before 1 June 2022?": (OPEN, "2022-05-31"),
    "What happened after June?": ("2022-07-01", "2022-08-10"),
    "What happened after 2019?": ("2020-01-01", "2022-08-10"),
    "What happened until May 2022?": (OPEN, "2022-05-31"),
    "What changed since 1 March?": ("2022-03-01", "2022-08-10"),
    "What changed since March 2022?": ("2022-03-01", "2022-08-10"),
    "What changed since 2019?": ("2019-01-01", "2022-08-10"),
    "What changed since last week?": ("2022-08-01", "2022-08-10"),
    "What did he say on 7 March 2022?": ("2022-03-07", "2022-03-07"),
    "What did he say on March 7, 2022?": ("2022-03-07", "2022-03-07"),
    "What did he say on the 7th of March?": ("2022-03-07", "2022-03-07"),
    "What did he say on 12 September?": ("2021-09-12", "2021-09-12"),
    "What happened on 2022-03-07?": ("2022-03-07", "2022-03-07"),
    "What happened in 2022-03?": ("2022-03-01", "2022-03-31"),
    "What happened between March and June?": ("2022-03-01", "2022-06-30"),
    "What happened between 1 March 2022 and 15 April 2022?": ("2022-03-01", "2022-04-15"),
    "What happened from 2019 to 2021?": ("2019-01-01", "2021-12-31"),
    "What happened in the last 10 days?": ("2022-07-31", "2022-08-10"),
    "What happened over the past two weeks?": ("2022-07-27", "2022-08-10"),
    "What happened in the last 3 months?": ("2022-05-10", "2022-08-10"),
    "What happened in the past week?": ("2022-08-03", "2022-08-10"),
    "What happened 3 days ago?": ("2022-08-07", "2022-08-07"),
    "What happened two weeks ago?": ("2022-07-25", "2022-07-31"),
    "What happened a month ago?": ("2022-07-01", "2022-07-31"),
    "What happened earlier this year?": ("2022-01-01", "2022-08-10"),
    "What changed over the weekend?": ("2022-08-06", "2022-08-07"),
    "What did he say on Sunday?": ("2022-08-07", "2022-08-07"),
    "What did he say on Wednesday?": ("2022-08-03", "2022-08-03"),
    "What did he say last Friday?": ("2022-08-05", "2022-08-05"),
    "What happened in early 2022?": ("2022-01-01", "2022-04-30"),
    "What happened in mid-2021?": ("2021-05-01", "2021-08-31"),
    "What happened in late July?": ("2022-07-21", "2022-07-31"),
    "Compare the offers in March 2022 and in June 2022.": ("2022-03-01", "2022-06-30"),
    "What happened in 2022 before June?": ("2022-01-01", "2022-05-31"),
}


@pytest.mark.parametrize("question", WINDOWS)
def test_expression_gives_its_window(question: str) -> None:
    first, last = WINDOWS[question]
    intent = understand(question, AS_OF)
    assert intent.window == DateRange(OPEN_START if first is None else d(first), d(last))
    assert intent.expressions, "the matched words are reported for the trace"
    assert not intent.recency, "a question with an explicit window is not a recency question"


@pytest.mark.parametrize(
    ("question", "as_of", "first", "last"),
    [
        ("What changed over the weekend?", "2022-08-07", "2022-08-06", "2022-08-07"),  # Sunday
        ("What changed over the weekend?", "2022-08-06", "2022-08-06", "2022-08-06"),  # Saturday
        ("What did he say on Sunday?", "2022-08-07", "2022-07-31", "2022-07-31"),
        ("What was offered in March?", "2022-03-05", "2022-03-01", "2022-03-05"),
        ("What did he say on March 7?", "2022-03-05", "2021-03-07", "2021-03-07"),
        ("What happened last month?", "2022-01-15", "2021-12-01", "2021-12-31"),
        ("What happened in the last 1 month?", "2022-03-31", "2022-02-28", "2022-03-31"),
        ("What happened between March and June?", "2022-04-20", "2022-03-01", "2022-04-20"),
    ],
)
def test_window_depends_on_as_of(question: str, as_of: str, first: str, last: str) -> None:
    assert understand(question, d(as_of)).window == DateRange(d(first), d(last))


@pytest.mark.parametrize("question", list(WINDOWS)[::3])
def test_window_never_passes_as_of(question: str) -> None:
    for offset in range(0, 400, 37):
        as_of = AS_OF - timedelta(days=offset)
        window = understand(question, as_of).window
        assert window is None or window.start <= window.end <= as_of


NOT_TIME = [
    "Who won the 2022 FIFA World Cup?",
    "How many Boeing 737 jets did the airline order?",
    "Did more than 2000 people protest?",
    "What happened after 2000 people protested?",
    "What did the 2019 report say about sanctions?",
    "What did the minister say in the 2019 report?",
    "What changed during 2022 World Cup preparations?",
    "May I ask who led the talks?",
    "What did Jan Novak say?",
    "What did the minister say in March Madness coverage?",
    "Why did protesters march on the ministry?",
    "What did Resolution 2019 say?",
    "What did the G20 say about COVID-19?",
    "Is the SWIFT system used in 190 countries?",
    "What will happen in 2030?",  # wholly after as-of: not a window
    "What did the report dated 2022-02-30 say?",  # not a date
    "What do Sunday newspapers say?",
    "What was said on the last day of the talks?",
    "What was agreed in the last week of the talks?",  # a week of the talks, not of the calendar
]


@pytest.mark.parametrize("question", NOT_TIME)
def test_words_that_are_not_time_give_no_window(question: str) -> None:
    intent = understand(question, AS_OF)
    assert intent.window is None
    assert intent.expressions == []
    assert intent.query == question


@pytest.mark.parametrize(
    ("question", "query", "expressions"),
    [
        ("Who led the talks in March 2022?", "Who led the talks?", ["in March 2022"]),
        ("In March 2022, who led the talks?", "who led the talks?", ["In March 2022"]),
        (
            "What did the US offer last week in Caracas?",
            "What did the US offer in Caracas?",
            ["last week"],
        ),
        (
            "What did he say on Sunday, and what did Venezuela reply?",
            "What did he say, and what did Venezuela reply?",
            ["on Sunday"],
        ),
        ("What happened in 2022 before June?", "What happened?", ["in 2022", "before June"]),
        ("yesterday?", "yesterday?", ["yesterday"]),  # nothing left: keep the question
    ],
)
def test_time_words_leave_the_query(question: str, query: str, expressions: list[str]) -> None:
    intent = understand(question, AS_OF)
    assert intent.query == query
    assert intent.expressions == expressions


RECENT = [
    ("What is the latest on the Venezuela talks?", "latest"),
    ("Who leads the talks now?", "now"),
    ("What is the current royalty?", "the current"),
    ("Is Alma Ruskova still leading the talks?", "still"),
    ("What has been offered so far?", "so far"),
    ("Has a deal been reached yet?", "yet"),
    ("What are officials saying these days?", "these days"),
    ("What happened recently?", "recently"),
    ("Who leads the talks?", "Who leads"),
    ("Who is leading the talks?", "Who is leading"),
    ("What is the US offering?", "What is the US offering"),
    ("What does Venezuela want from Washington?", "What does Venezuela want"),
    ("Who is the lead negotiator?", "Who is the lead negotiator"),
    ("Who is the chief executive of Halvorsen?", "Who is the chief"),
    ("How large are the copper reserves?", "How large are"),
    ("Which company operates the mine?", "Which company operates"),
    ("What is the status of the talks?", "What is the status"),
]


@pytest.mark.parametrize(("question", "cue"), RECENT)
def test_current_state_questions_ask_for_recency(question: str, cue: str) -> None:
    intent = understand(question, AS_OF)
    assert intent.recency and intent.cue == cue
    assert intent.window is None and intent.query == question


@pytest.mark.parametrize(
    "question",
    [
        "What is SWIFT?",
        "Who is Juan Gonzalez?",
        "Who led the talks?",
        "What did the US offer?",
        "Why did the talks stall?",
        "When did the talks begin?",
        "How did markets react?",
        "What does SWIFT stand for?",
        "What offers were made?",
        "Who is the author of the report?",
        "Who is the longest running character on the show?",
        "Who was the viceroy at the time of the uprising?",
        "What are the components of current in a transistor?",
        "Which direction do the heads face?",
        "What plans did they announce?",
        "What is the latest offer in March 2022?",  # an explicit window wins
        "What has been agreed so far this year?",
    ],
)
def test_questions_without_current_state_are_not_recency(question: str) -> None:
    assert not understand(question, AS_OF).recency


@pytest.mark.parametrize(
    ("question", "expression"),
    [
        ("Has the position changed since then?", "since then"),
        ("Who led the talks back then?", "back then"),
        ("What did Venezuela offer after that?", "after that"),
    ],
)
def test_references_to_the_conversation_are_flagged_not_guessed(
    question: str, expression: str
) -> None:
    intent = understand(question, AS_OF)
    assert intent.window is None and intent.unresolved == [expression]
    assert intent.query == question


def test_a_time_named_by_its_event_is_not_flagged() -> None:
    assert understand("Who was viceroy at the time of the uprising?", AS_OF).unresolved == []


def test_trace_is_json_and_marks_an_open_start() -> None:
    trace = understand("What happened before June?", AS_OF).trace()
    assert json.loads(json.dumps(trace)) == {
        "window": [None, "2022-05-31"],
        "recency": False,
        "recency_cue": None,
        "expressions": ["before June"],
        "unresolved": [],
        "window_dropped": False,
    }


# --- strict ISO dates (qa.dates) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "first", "last"),
    [
        ("2022-03-07", "2022-03-07", "2022-03-07"),
        ("2022-03", "2022-03-01", "2022-03-31"),
        ("2024-02", "2024-02-01", "2024-02-29"),
        ("2022", "2022-01-01", "2022-12-31"),
    ],
)
def test_iso_dates_mean_a_day_month_or_year(value: str, first: str, last: str) -> None:
    assert parse_iso_date(value, "date_to") == DateRange(d(first), d(last))


@pytest.mark.parametrize(
    "value",
    ["2022/01/01", "yesterday", "2022-1-1", "2023-1-1", "2022-02-30", "20220101", "2022-12-1", ""],
)
def test_other_date_forms_are_refused_naming_the_field(value: str) -> None:
    with pytest.raises(DateError) as caught:
        parse_iso_date(value, "date_from")
    assert caught.value.field == "date_from"
    assert "date_from" in str(caught.value) and "YYYY-MM-DD" in str(caught.value)


# --- recency weight ------------------------------------------------------------------------


def test_recency_weight_halves_every_half_life() -> None:
    assert recency_weight(AS_OF, AS_OF, 30) == 1.0
    assert recency_weight(AS_OF - timedelta(days=30), AS_OF, 30) == pytest.approx(0.5)
    assert recency_weight(AS_OF - timedelta(days=60), AS_OF, 30) == pytest.approx(0.25)
    assert recency_weight(AS_OF - timedelta(days=7), AS_OF, 7) == pytest.approx(0.5)


def test_recency_weight_falls_with_age_and_stays_in_range() -> None:
    weights = [recency_weight(AS_OF - timedelta(days=age), AS_OF, 14) for age in range(0, 3000, 7)]
    assert all(0 < w <= 1 for w in weights)
    assert weights == sorted(weights, reverse=True) and weights[0] > weights[-1]


def test_recency_weight_never_penalises_undated_or_boosts_future_documents() -> None:
    assert recency_weight(None, AS_OF, 30) == 1.0
    assert recency_weight(AS_OF + timedelta(days=5), AS_OF, 30) == 1.0


def test_recency_weight_needs_a_positive_half_life() -> None:
    with pytest.raises(ValueError, match="half_life_days"):
        recency_weight(AS_OF, AS_OF, 0)


# --- the evolving-story fixture ------------------------------------------------------------


def _corpus() -> dict[date, str]:
    docs = [
        doc for path in discover([EVOLVING / "docs"]) for doc in load_path(path, 10**6).documents
    ]
    assert all(doc.date for doc in docs), "every report carries its date"
    return {d(str(doc.date)): doc.text[doc.body_start :] for doc in docs}


def _questions() -> list[dict[str, object]]:
    lines = (EVOLVING / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_fixture_is_short_dated_reports_over_months_and_the_year_before() -> None:
    corpus = _corpus()
    assert 6 <= len(corpus) <= 8
    assert all(120 <= len(text.split()) <= 250 for text in corpus.values())
    years = {day.year for day in corpus}
    assert len(years) == 2 and sum(day.year == min(years) for day in corpus) == 1
    newest = [day for day in corpus if day.year == max(years)]
    assert (max(newest) - min(newest)).days >= 150


@pytest.mark.parametrize("case", _questions(), ids=lambda case: str(case["id"]))
def test_fixture_question_window_and_answer_documents(case: dict[str, object]) -> None:
    as_of = d(str(case["as_of"]))
    intent = understand(str(case["question"]), as_of)
    expected = case["window"]
    window = None
    if isinstance(expected, list):
        window = DateRange(d(expected[0]), d(expected[1]))
    assert intent.window == window
    assert intent.recency is case["recency"]
    # The documents that hold the answer, admissible on as_of and in the window, are exactly
    # the ones listed, newest first: "latest" and "in <month>" have checkable right answers.
    holding = sorted(
        (day for day, text in _corpus().items() if str(case["answer"]) in text),
        reverse=True,
    )
    admissible = [day for day in holding if day <= as_of and (window is None or day in window)]
    listed = [d(str(day)) for day in case["doc_dates"]]  # type: ignore[attr-defined]
    assert admissible == sorted(listed, reverse=True) and listed[0] == admissible[0]


def test_fixture_facts_change_over_time() -> None:
    by_id = {str(case["id"]): case for case in _questions()}
    assert by_id["lead-latest"]["answer"] != by_id["lead-march"]["answer"]
    assert by_id["royalty-latest"]["answer"] != by_id["offer-march"]["answer"]
    may, august = by_id["reserves-may"], by_id["reserves-august"]
    assert may["question"] == august["question"] and may["answer"] != august["answer"]
