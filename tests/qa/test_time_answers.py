"""News-native answers (issue 12) on the evolving-story fixture: who leads the talks and what
is offered change over the months, so "latest" and "in March" have different right answers."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from qa.chain_io import Found
from qa.cli import app as cli
from qa.config import Settings
from qa.evidence import Evidence
from qa.gate import GateDecision
from qa.http.app import create_app
from qa.leads import newest_first
from qa.service import Assistant
from qa.timeframe import TimeScope
from tests.conftest import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "evolving"
ITEMS = {i["id"]: i for i in map(json.loads, (FIXTURE / "questions.jsonl").open())}
# "latest" and "in <month>" pairs on the same facts, and one question at two as-of dates.
CHECKED = ["lead-latest", "lead-march", "royalty-latest", "offer-march", "reserves-may",
           "reserves-august", "last-week", "royalty-2021"]  # fmt: skip


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, embeddings) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("evolving") / "data"
    Assistant(Settings(data_dir=path, mode="extractive"), embeddings=embeddings).ingest(
        [FIXTURE / "docs"]
    )
    return path


@pytest.fixture(scope="module", params=["extractive", "local"])
def service(request: pytest.FixtureRequest, data_dir: Path, embeddings) -> Assistant:  # type: ignore[no-untyped-def]
    return Assistant(Settings(data_dir=data_dir, mode=str(request.param)), embeddings=embeddings)


@pytest.mark.parametrize("item_id", CHECKED)
def test_time_decides_which_article_answers(service: Assistant, item_id: str) -> None:
    item = ITEMS[item_id]
    answer = service.ask(item["question"], as_of=date.fromisoformat(item["as_of"]))
    assert not answer.abstained, answer.trace["gate"]
    assert item["answer"].lower() in answer.text.lower(), (answer.text, answer.trace["time"])
    assert answer.citations[0].date in item["doc_dates"], [c.date for c in answer.citations]
    time = answer.trace["time"]
    assert time["recency"] is item["recency"] and time["as_of"] == item["as_of"]
    if item["window"]:
        start, end = item["window"]
        assert time["window"] == [None if start.startswith("0001") else start, end]


def test_nothing_after_the_as_of_date_is_evidence(data_dir: Path, embeddings) -> None:  # type: ignore[no-untyped-def]
    service = Assistant(Settings(data_dir=data_dir, mode="extractive"), embeddings=embeddings)
    answer = service.ask("Who leads the government's talks with Halvorsen now?",
                         as_of=date(2022, 3, 20))  # fmt: skip
    assert "Ruskova" in answer.text and "Velden" not in answer.text
    assert all(s.date and s.date <= "2022-03-20" for s in answer.sources)


def test_evidence_from_several_dates_says_when_newest_first(data_dir: Path, embeddings) -> None:  # type: ignore[no-untyped-def]
    service = Assistant(Settings(data_dir=data_dir, mode="extractive"), embeddings=embeddings)
    answer = service.ask("How large are the copper reserves at Teller Ridge?",
                         as_of=date(2022, 8, 1))  # fmt: skip
    dates = [c.date for c in answer.citations]
    assert len(set(dates)) > 1 and dates == sorted(dates, reverse=True)
    assert answer.text.startswith("On 19 July 2022: ")


@pytest.mark.parametrize("bad", ["2022/01/01", "yesterday", "2022-1-1", "2022-02-30", "20220101"])
def test_a_malformed_as_of_is_a_clear_error(data_dir: Path, embeddings, bad: str) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=data_dir, mode="extractive")
    client = TestClient(create_app(settings, Assistant(settings, embeddings), ui=False))
    for route in ("/v1/ask", "/v1/ask/stream"):
        response = client.post(route, json={"question": "Who leads the talks?", "as_of": bad})
        assert response.status_code == 422
        assert response.json()["error"]["message"].startswith("as_of:")
    messages = [{"role": "user", "content": "Who?"}]
    chat = client.post(
        "/v1/chat/completions", json={"model": "documents", "as_of": bad, "messages": messages}
    )
    assert chat.status_code == 422 and "as_of" in chat.json()["error"]["message"]
    result = CliRunner().invoke(cli, ["ask", "Who leads the talks?", "--as-of", bad],
                                env={"CITEQA_DATA_DIR": str(data_dir)})  # fmt: skip
    assert result.exit_code == 2 and "as_of" in result.output


def test_a_month_as_of_means_its_last_day(data_dir: Path, embeddings) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=data_dir, mode="extractive")
    client = TestClient(create_app(settings, Assistant(settings, embeddings), ui=False))
    body = {"question": "What royalty did Halvorsen offer?", "as_of": "2022-03"}
    answer = client.post("/v1/ask", json=body).json()
    assert answer["trace"]["time"]["as_of"] == "2022-03-31"
    assert all(s["date"] <= "2022-03-31" for s in answer["sources"])


def test_a_year_the_news_is_about_falls_back_to_all_dates(data_dir: Path, embeddings) -> None:  # type: ignore[no-untyped-def]
    service = Assistant(Settings(data_dir=data_dir, mode="extractive"), embeddings=embeddings)
    # The 2009 royalty is reported in 2021 and 2022: no article of 2009 exists.
    answer = service.ask("What royalty was agreed in 2009?", as_of=date(2022, 9, 1))
    assert not answer.abstained and "2%" in answer.text
    assert answer.trace["time"]["window_dropped"] is True


def _evidence(n: int, text: str, day: str, score: float) -> Evidence:
    return Evidence(n=n, text=text, doc_id=f"d{n}", title="t", date=day, source="s",
                    chunk_id=f"d{n}:c:0", start=0, end=len(text), page=None,
                    lexical=0.5, dense=0.5, score=score)  # fmt: skip


def test_newest_first_leaves_the_relevance_order_as_the_gate_judged_it() -> None:
    older = _evidence(1, "Ruskova leads the talks.", "2022-01-10", 0.9)
    newer = _evidence(2, "Velden leads the talks.", "2022-09-01", 0.8)
    scope = TimeScope(recency_as_of=date(2022, 9, 5))
    ranked = newest_first([older, newer], scope)
    assert [e.text for e in ranked] == [newer.text, older.text]
    assert (older.n, older.score, newer.n, newer.score) == (1, 0.9, 2, 0.8)


def test_the_fallback_gate_judges_the_evidence_in_relevance_order(
    data_dir: Path, embeddings
) -> None:  # type: ignore[no-untyped-def]
    """In openai mode a cut answer falls back to extractive sentences only if the calibrated
    gate passes them; it must see them as retrieval ranked them, not newest first."""
    chain = Assistant(Settings(data_dir=data_dir, mode="extractive"), embeddings=embeddings).chain()
    seen: list[list[str]] = []

    class Recording:
        def decide(self, question, evidence, follow_up):  # type: ignore[no-untyped-def]
            seen.append([e.text for e in evidence])
            return GateDecision(False, "weak evidence")

    chain.policy = replace(chain.policy, fallback_gate=Recording())
    relevant = [_evidence(1, "Ruskova leads the talks.", "2022-01-10", 0.9),
                _evidence(2, "Velden leads the talks.", "2022-09-01", 0.8)]  # fmt: skip
    found = Found("Who leads the talks now?", None, [], relevant[::-1],
                  GateDecision(True, "on topic"), 1, relevant=relevant)  # fmt: skip
    outcome = chain.fall_back("Who leads the talks now?", found, "unsupported", {})
    assert seen == [[e.text for e in relevant]]
    assert outcome.claims == [] and outcome.fallback == "unsupported"


def test_newest_first_keeps_the_order_of_evidence_of_one_date() -> None:
    """One article: nothing newer to lead with, and the leads (the named actor's sentence
    first) stand as they are."""
    actor = _evidence(
        1, "Caracas used the talks to press for US sanctions relief.", "2022-03-07", 0.08
    )
    other = _evidence(2, "In the talks, Washington sought guarantees.", "2022-03-07", 0.09)
    scope = TimeScope(recency_as_of=date(2022, 9, 5))
    assert newest_first([actor, other], scope) == [actor, other]
