"""Saved conversations over HTTP: create, ask into, read back, list, rename, delete, share,
export, feedback and insights, as four users with different access (SQLite, TestClient,
the real extractive chain over the bundled article). Then two real ``citeqa serve``
processes on one PostgreSQL: concurrent turns lose nothing and survive a restart. Last, the
command line: ``citeqa chat --resume`` and ``citeqa eval prepare feedback``."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from qa.chain import NOT_FOUND
from qa.config import Settings
from qa.evaluation.datasets import load_dataset
from qa.http.app import create_app
from qa.people.identity import User
from qa.people.models import Turn
from qa.people.records import FeedbackIn
from qa.people.service import People
from qa.service import Assistant
from qa.types import Answer
from tests.conftest import free_port, server_process
from tests.postgres import postgres_server, postgres_url  # noqa: F401 (fixtures)
from tests.qa.http.test_routes import parse_sse
from tests.qa.people.answers import cited_answer

QUESTION = "What concessions did the US offer?"
FOLLOW_UP = "Who led them?"
KEYS = {"alice": "ka", "bob": "kb", "carol": "kc", "dan": "kd"}
# alice writes the documents, bob reads them, carol administers, dan reads another collection.
ACCESS = "alice=write:documents;bob=read:documents;carol=admin;dan=read:other"


def auth(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[user]}"}


@pytest.fixture(scope="module")
def app_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        data_dir=tmp_path_factory.mktemp("conversations") / "data",
        mode="extractive",
        api_keys=",".join(f"{u}:{k}" for u, k in KEYS.items()),
        access=ACCESS,
    )


@pytest.fixture(scope="module")
def client(app_settings: Settings, embeddings: Any) -> Iterator[TestClient]:
    app = create_app(app_settings, Assistant(app_settings, embeddings), ui=False)
    with TestClient(app) as test_client:
        assert app.state.readiness.wait(120), "the service did not warm up"
        test_client.app_state = app.state  # type: ignore[attr-defined]
        yield test_client


def people_of(client: TestClient) -> People:
    return client.app_state.ctx.people  # type: ignore[attr-defined,no-any-return]


def new_conversation(client: TestClient, user: str = "alice", **body: Any) -> str:
    response = client.post("/v1/conversations", json=body, headers=auth(user))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def ask(client: TestClient, conversation: str, question: str, user: str = "alice") -> Any:
    body = {"question": question, "conversation_id": conversation}
    return client.post("/v1/ask", json=body, headers=auth(user))


# --- saving and reading back ---------------------------------------------------------------


def test_asked_turns_are_saved_whole_and_follow_ups_use_them(client: TestClient) -> None:
    conversation = new_conversation(client)
    first = ask(client, conversation, QUESTION)
    assert first.status_code == 200, first.text
    assert first.headers["X-Conversation-Turn"] == "1"
    assert first.headers["X-Conversation-Id"] == conversation
    timing = dict(m.split(";dur=") for m in first.headers["Server-Timing"].split(", "))
    assert set(timing) == {"history", "save", "save-cpu"} and float(timing["save"]) > 0
    # No history sent: the saved turn is the history, so the follow-up is condensed with it.
    second = ask(client, conversation, FOLLOW_UP)
    assert second.headers["X-Conversation-Turn"] == "2"
    assert second.json()["standalone_question"] == f"{FOLLOW_UP} {QUESTION}"
    alone = client.post("/v1/ask", json={"question": FOLLOW_UP}, headers=auth("alice"))
    assert alone.json()["standalone_question"] is None

    view = client.get(f"/v1/conversations/{conversation}", headers=auth("alice")).json()
    assert view["id"] == conversation and view["title"] == QUESTION
    assert view["read_only"] is False and view["collections"] == ["documents"]
    assert [t["question"] for t in view["turns"]] == [QUESTION, FOLLOW_UP]
    assert [t["number"] for t in view["turns"]] == [1, 2]
    saved = Answer.model_validate(view["turns"][0]["answer"])
    assert saved == Answer.model_validate(first.json())  # citations, offsets, timings, trace
    assert saved.citations and "SWIFT" in saved.text


def test_the_stream_saves_the_turn_and_says_its_number(client: TestClient) -> None:
    conversation = new_conversation(client)
    body = {"question": QUESTION, "conversation_id": conversation}
    response = client.post("/v1/ask/stream", json=body, headers=auth("alice"))
    events = parse_sse(response.text)
    kinds = [kind for kind, _ in events]
    assert kinds[-3:] == ["answer", "saved", "done"]
    saved = dict(events)["saved"]
    assert saved == {"type": "saved", "conversation_id": conversation, "turn": 1}
    view = client.get(f"/v1/conversations/{conversation}", headers=auth("alice")).json()
    assert view["turns"][0]["answer"]["text"] == dict(events)["answer"]["answer"]["text"]


def test_a_question_that_fails_to_be_answered_gives_its_turn_up(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The turn is reserved while the answer is worked out; no answer, no turn."""
    conversation = new_conversation(client)
    assistant = client.app_state.ctx.assistant  # type: ignore[attr-defined]

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the model fell over")

    def broken_stream(*args: Any, **kwargs: Any) -> Iterator[Any]:
        yield from broken()  # fails once the stream is read, as Assistant.stream would

    with monkeypatch.context() as patch:
        patch.setattr(assistant, "ask", broken)
        failed = ask(client, conversation, QUESTION)
        assert failed.status_code == 500 and "fell over" not in failed.text
        patch.setattr(assistant, "stream", broken_stream)
        body = {"question": QUESTION, "conversation_id": conversation}
        streamed = client.post("/v1/ask/stream", json=body, headers=auth("alice"))
        assert [kind for kind, _ in parse_sse(streamed.text)] == ["error", "done"]
    view = client.get(f"/v1/conversations/{conversation}", headers=auth("alice")).json()
    assert view["turns"] == [] and view["turn_count"] == 2  # two numbers given up
    answered = ask(client, conversation, QUESTION)
    assert answered.headers["X-Conversation-Turn"] == "3"
    view = client.get(f"/v1/conversations/{conversation}", headers=auth("alice")).json()
    assert [(t["number"], t["question"]) for t in view["turns"]] == [(3, QUESTION)]
    assert view["title"] == QUESTION
    with people_of(client).db.read() as conn:  # nothing left for other processes to wait for
        rows = conn.execute(select(Turn.number).where(Turn.conversation_id == conversation))
        assert [number for (number,) in rows] == [3]


def answers_so_far(client: TestClient) -> float:
    """How many answers the API has given, from /metrics."""
    lines = client.get("/metrics", headers=auth("carol")).text.splitlines()
    prefix = 'citeqa_answers_total{interface="api"'
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith(prefix))


def test_a_wrong_conversation_is_404_before_any_work(client: TestClient) -> None:
    before = answers_so_far(client)
    for route in ("/v1/ask", "/v1/ask/stream"):
        body = {"question": QUESTION, "conversation_id": "no-such-id"}
        response = client.post(route, json=body, headers=auth("alice"))
        assert response.status_code == 404
        assert response.json()["error"] == {
            "message": "no such conversation",
            "type": "not_found_error",
            "code": "404",
        }
    assert answers_so_far(client) == before


def test_list_is_the_callers_newest_first_and_titled_by_the_first_question(
    client: TestClient,
) -> None:
    older = new_conversation(client, "bob")
    newer = new_conversation(client, "bob", title="Named up front")
    ask(client, older, QUESTION, "bob")  # activity moves it to the top
    listed = client.get("/v1/conversations", headers=auth("bob")).json()
    assert [c["id"] for c in listed[:2]] == [older, newer]
    assert [c["title"] for c in listed[:2]] == [QUESTION, "Named up front"]
    assert all(c["owner"] == "bob" for c in listed)
    theirs = client.get("/v1/conversations", headers=auth("alice")).json()
    assert older not in {c["id"] for c in theirs}


def test_rename_and_delete_are_the_owners_and_others_get_404(client: TestClient) -> None:
    conversation = new_conversation(client)
    url = f"/v1/conversations/{conversation}"
    renamed = client.patch(url, json={"title": "  Sanctions talk "}, headers=auth("alice"))
    assert renamed.status_code == 200 and renamed.json()["title"] == "Sanctions talk"
    assert client.patch(url, json={"title": "   "}, headers=auth("alice")).status_code == 422
    assert client.patch(url, json={"title": "x"}, headers=auth("bob")).status_code == 404
    assert client.delete(url, headers=auth("bob")).status_code == 404
    assert client.get(url, headers=auth("bob")).status_code == 404  # not shared: invisible
    assert client.delete(url, headers=auth("alice")).json() == {"deleted": conversation}
    assert client.get(url, headers=auth("alice")).status_code == 404


# --- sharing and export --------------------------------------------------------------------


def test_a_share_link_opens_read_only_for_readers_and_404_for_others(client: TestClient) -> None:
    conversation = new_conversation(client)
    ask(client, conversation, QUESTION)
    url = f"/v1/conversations/{conversation}"
    link = client.post(f"{url}/share", headers=auth("alice")).json()
    assert link["page_url"] == f"/shared/{link['token']}"
    again = client.post(f"{url}/share", headers=auth("alice")).json()
    assert again["token"] == link["token"]  # one live link per conversation
    assert client.post(f"{url}/share", headers=auth("bob")).status_code == 404

    seen = client.get(link["api_url"], headers=auth("bob"))
    assert seen.status_code == 200 and seen.json()["read_only"] is True
    assert seen.json()["turns"][0]["answer"]["citations"]
    page = client.get(link["page_url"], headers=auth("bob"))
    assert page.status_code == 200 and "read-only" in page.text and "<mark>" in page.text
    # bob may see it but not continue it.
    assert ask(client, conversation, FOLLOW_UP, "bob").status_code == 403
    # dan may not read the documents its answers came from: exactly like a wrong token.
    for user, token in (("dan", link["token"]), ("bob", "wrong-token")):
        assert client.get(f"/v1/shared/{token}", headers=auth(user)).status_code == 404
        missing = client.get(f"/shared/{token}", headers=auth(user))
        assert missing.status_code == 404 and "Not found" in missing.text
    assert client.get(url, headers=auth("dan")).status_code == 404

    assert client.delete(f"{url}/share", headers=auth("alice")).json() == {"revoked": 1}
    assert client.get(link["api_url"], headers=auth("bob")).status_code == 404


def test_export_as_markdown_with_dated_quotes_and_as_json(client: TestClient) -> None:
    conversation = new_conversation(client)
    answer = ask(client, conversation, QUESTION).json()
    url = f"/v1/conversations/{conversation}/export"
    markdown = client.get(url, headers=auth("alice"))
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert "attachment" in markdown.headers["content-disposition"]
    first = answer["citations"][0]
    assert f"## 1. {QUESTION}" in markdown.text
    assert f"1. “{first['quote'][:40]}" in markdown.text and "2022-03-07" in markdown.text
    exported = client.get(url, params={"format": "json"}, headers=auth("alice")).json()
    assert exported["turns"][0]["answer"]["citations"] == answer["citations"]
    assert client.get(url, params={"format": "pdf"}, headers=auth("alice")).status_code == 422
    assert client.get(url, headers=auth("bob")).status_code == 404


# --- feedback and insights -----------------------------------------------------------------


def test_feedback_on_a_turn_becomes_an_evaluation_item(client: TestClient) -> None:
    conversation = new_conversation(client)
    ask(client, conversation, QUESTION)
    body = {
        "conversation_id": conversation,
        "turn": 1,
        "rating": "down",
        "reason": "incomplete",
        "correction": "The US offered to ease sanctions and to allow SWIFT use.",
    }
    response = client.post("/v1/feedback", json=body, headers=auth("alice"))
    assert response.status_code == 200, response.text
    assert response.json()["user"] == "alice" and response.json()["rating"] == "down"
    view = client.get(f"/v1/conversations/{conversation}", headers=auth("alice")).json()
    assert view["turns"][0]["rating"] == "down"
    items = [i for i in people_of(client).feedback_items() if i.reference == body["correction"]]
    assert [(i.question, i.answerable) for i in items] == [(QUESTION, True)]

    for change, status in (({"turn": 9}, 404), ({"rating": "meh"}, 422), ({"turn": 0}, 422),
                           ({"reason": "rude"}, 422)):  # fmt: skip
        bad = client.post("/v1/feedback", json=body | change, headers=auth("alice"))
        assert bad.status_code == status, (change, bad.text)
    # Not shared: bob cannot see the turn, so he cannot rate it.
    assert client.post("/v1/feedback", json=body, headers=auth("bob")).status_code == 404


def test_insights_are_for_admins_as_json_and_csv(client: TestClient) -> None:
    conversation = new_conversation(client)
    refused = "What is the boiling point of mercury?"
    answer = ask(client, conversation, refused).json()
    assert answer["abstained"] is True and answer["text"] == NOT_FOUND
    assert client.get("/v1/insights", headers=auth("alice")).status_code == 403
    report = client.get("/v1/insights", headers=auth("carol"))
    assert report.status_code == 200, report.text
    items = [i for g in report.json()["groups"] for i in g["items"]]
    assert any(i["question"] == refused and i["refused"] for i in items)
    assert sum(report.json()["weeks"].values()) == report.json()["total"]
    table = client.get("/v1/insights", params={"format": "csv"}, headers=auth("carol"))
    assert table.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert any(r["question"] == refused and r["refused"] == "True" for r in rows)
    future = client.get("/v1/insights", params={"since": "2999"}, headers=auth("carol"))
    assert future.json()["total"] == 0
    bad = client.get("/v1/insights", params={"since": "yesterday"}, headers=auth("carol"))
    assert bad.status_code == 422 and "since" in bad.json()["error"]["message"]


# --- two server processes on one PostgreSQL ------------------------------------------------


@contextmanager
def serve(url: str, data: Path, port: int) -> Iterator[str]:
    """A real ``citeqa serve`` process on ``port`` with its own data dir, on database ``url``."""
    settings = {
        "CITEQA_DATABASE_URL": url,
        "CITEQA_DATA_DIR": str(data),
        "CITEQA_MODE": "extractive",
        "CITEQA_API_KEYS": "alice:ka",
    }
    citeqa = str(Path(sys.executable).parent / "citeqa")
    cmd = ["env", *(f"{k}={v}" for k, v in settings.items()), citeqa, "serve", "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    data.mkdir(parents=True, exist_ok=True)
    with server_process(cmd, f"{base}/healthz", data / f"server-{port}.log", timeout=300):
        yield base


def test_two_servers_on_one_postgresql_lose_no_turn_and_survive_a_restart(
    postgres_url: str,  # noqa: F811 (fixture)
    tmp_path: Path,
) -> None:
    per_server = 6
    with (
        serve(postgres_url, tmp_path / "a", free_port()) as a,
        serve(postgres_url, tmp_path / "b", free_port()) as b,
        httpx.Client(headers=auth("alice"), timeout=300) as http,
    ):
        conversation = http.post(f"{a}/v1/conversations", json={}).json()["id"]

        def one(i: int) -> int:
            body = {"question": f"{QUESTION} ({i})", "conversation_id": conversation}
            response = http.post(f"{(a, b)[i % 2]}/v1/ask", json=body)
            assert response.status_code == 200, response.text
            return int(response.headers["X-Conversation-Turn"])

        with ThreadPoolExecutor(max_workers=4) as pool:
            numbers = sorted(pool.map(one, range(2 * per_server)))
        view = http.get(f"{b}/v1/conversations/{conversation}").json()
    assert numbers == list(range(1, 2 * per_server + 1))  # none lost, none handed out twice
    assert {t["question"] for t in view["turns"]} == {
        f"{QUESTION} ({i})" for i in range(2 * per_server)
    }
    assert view["turn_count"] == 2 * per_server

    # Both servers are gone; a fresh one on the same database has every turn, unchanged.
    with (
        serve(postgres_url, tmp_path / "a", free_port()) as a,
        httpx.Client(headers=auth("alice"), timeout=60) as http,
    ):
        again = http.get(f"{a}/v1/conversations/{conversation}").json()
    assert json.dumps(again["turns"], sort_keys=True) == json.dumps(view["turns"], sort_keys=True)


# --- the command line ------------------------------------------------------------------------


def citeqa(data: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CITEQA_DATA_DIR": str(data), "CITEQA_MODE": "extractive"}
    return subprocess.run(
        [sys.executable, "-c", "from qa.cli import main; main()", *args],
        input=stdin, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_chat_resumes_a_saved_conversation_and_feedback_becomes_a_dataset(tmp_path: Path) -> None:
    data, alice = tmp_path / "data", User(name="alice")
    people = People(Settings(data_dir=data, mode="extractive"))
    conversation = people.conversations.create(alice).id
    people.conversations.append_turn(alice, conversation, cited_answer(QUESTION), "documents")

    result = citeqa(data, "chat", "--resume", conversation, "--user", "alice", stdin=FOLLOW_UP)
    assert result.returncode == 0, result.stderr
    assert QUESTION in result.stdout and "ease oil sanctions" in result.stdout  # the saved turn
    view = people.conversations.get(alice, conversation)
    assert [t.number for t in view.turns] == [1, 2]
    assert view.turns[1].answer.standalone_question == f"{FOLLOW_UP} {QUESTION}"
    assert citeqa(data, "chat", "--resume", conversation, "--user", "bob").returncode == 1

    dataset = tmp_path / "feedback"
    empty = citeqa(data, "eval", "prepare", "feedback", str(dataset))
    assert empty.returncode == 1 and "no thumbs-down" in empty.stderr
    correction = "Juan Gonzalez led the US delegation."
    people.conversations.add_feedback(
        alice, FeedbackIn(conversation_id=conversation, turn=2, rating="down",
                          reason="wrong", correction=correction),
    )  # fmt: skip
    people.close()
    result = citeqa(data, "eval", "prepare", "feedback", str(dataset))
    assert result.returncode == 0, result.stderr
    assert "1 questions (1 answerable), corpus docs.jsonl" in result.stdout
    loaded = load_dataset(dataset)
    assert [(i.question, i.reference) for i in loaded.items] == [
        (f"{FOLLOW_UP} {QUESTION}", correction)
    ]
    (doc,) = [json.loads(line) for line in (dataset / "docs.jsonl").read_text().splitlines()]
    assert "SWIFT system" in doc["text"] and doc["date"] == "2022-03-07"
    usage = citeqa(data, "eval", "prepare", "sample", str(dataset))
    assert usage.returncode == 2 and "usage: citeqa eval prepare sample SRC OUT" in usage.stderr
