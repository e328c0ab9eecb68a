"""The chat page's rendering (escaping, highlighting, markers) and its ``/ask`` endpoint
through ``gradio_client`` against a real server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from qa.chain import NOT_FOUND
from qa.config import Settings
from qa.http.app import create_app
from qa.service import Assistant
from qa.types import Answer, Citation, Source
from qa.ui.render import (
    citation_card,
    documents_table,
    example_questions,
    highlight,
    render_answer,
    upload_results,
    user_message,
)
from tests.qa.serving import running

# Gradio's queue trips a pandas deprecation warning on every event; it is not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")
XSS = "<img src=x onerror=alert(1)>"
PASSAGE = "Intro sentence here. The quoted sentence sits in the middle. A closing sentence."
QUOTE = "The quoted sentence sits in the middle."


def source(text: str = PASSAGE, start: int = 100, title: str = "Report") -> Source:
    return Source(
        doc_id="d1", title=title, date="2022-03-07", source="/data/uploads/report.txt",
        chunk_id="d1:abc:0", text=text, start=start, end=start + len(text), score=0.5,
    )  # fmt: skip


def citation(quote: str = QUOTE, start: int = 121, title: str = "Report") -> Citation:
    return Citation(
        marker=1, doc_id="d1", title=title, date="2022-03-07", source="/data/uploads/report.txt",
        chunk_id="d1:abc:0", quote=quote, start=start, end=start + len(quote), support=0.9,
        verified=True,
    )  # fmt: skip


def test_quote_is_highlighted_at_its_offset_inside_the_passage() -> None:
    card = citation_card(citation(), [source()])
    assert f"Intro sentence here. <mark>{QUOTE}</mark> A closing sentence." in card
    assert '<span class="cq-num">1</span>' in card and "2022-03-07" in card
    assert ">report.txt</span>" in card  # the file name, not the server path


def test_quote_is_found_when_offsets_disagree_and_shown_alone_without_a_passage() -> None:
    assert f"<mark>{QUOTE}</mark>" in citation_card(citation(start=5), [source()])
    assert citation_card(citation(), []).count("<mark>") == 1


def test_long_passages_are_trimmed_around_the_quote() -> None:
    text = "word " * 200 + QUOTE + " tail" * 200
    html = highlight(text, 1000, 1000 + len(QUOTE))
    assert html.startswith("…") and html.endswith("…") and len(html) < 700


def test_document_text_is_escaped_everywhere() -> None:
    quote = f"The markup {XSS} was found."
    passage = f"Before.\n\n{quote}\n\nAfter *not emphasis*."
    card = citation_card(
        citation(quote, start=109, title=XSS), [source(passage, start=100, title=XSS)]
    )
    answer = Answer(
        question="q", text=f"{quote} [1]", citations=[citation(quote, 109, XSS)],
        sources=[source(passage, 100, XSS)], mode="extractive",
    )  # fmt: skip
    docs = [{"doc_id": "d1", "title": XSS, "date": None, "n_chunks": 2}]
    results = [{"filename": XSS, "status": "failed", "chunks": 0, "reason": XSS}]
    rendered = [
        card,
        render_answer(answer),
        documents_table(docs),
        upload_results(results),
        user_message(XSS)["content"],
    ]
    for html in rendered:
        assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
        assert "\n" not in html  # one HTML block: Markdown never sees the text


def test_answer_markers_match_the_cards() -> None:
    answer = Answer(
        question="q", text=f"{QUOTE} [1]", citations=[citation()], sources=[source()],
        mode="extractive",
    )  # fmt: skip
    html = render_answer(answer)
    assert '<span class="cq-ref">[1]</span>' in html and 'data-marker="1"' in html


def test_abstention_shows_the_closest_passages() -> None:
    answer = Answer(
        question="q", text=NOT_FOUND, abstained=True, sources=[source()], mode="extractive"
    )
    html = render_answer(answer)
    assert NOT_FOUND in html and "Closest passages" in html and "<mark>" not in html


def test_example_questions_come_from_the_documents() -> None:
    docs = [{"doc_id": f"d{i}", "title": f"Title {i}"} for i in range(6)]
    assert example_questions(docs)[0] == ["What does “Title 0” report?"]
    assert len(example_questions(docs)) == 4 and example_questions([]) == []


# --- a running server -------------------------------------------------------------------


def signed_in(base_url: str, user: str = "ann", password: str = "pw") -> dict[str, str]:
    """Headers carrying the session cookie of a page login."""
    response = httpx.post(
        f"{base_url}/login", data={"user": user, "password": password, "next": "/"}
    )
    assert response.status_code == 303, response.text
    return {"Cookie": f"citeqa_session={response.cookies['citeqa_session']}"}


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory, embeddings: Any) -> Iterator[str]:
    data = tmp_path_factory.mktemp("ui") / "data"
    settings = Settings(data_dir=data, mode="extractive", ui_users="ann:pw")
    with running(create_app(settings, Assistant(settings, embeddings))) as url:
        yield url


def test_gradio_client_ask_returns_the_answer_json(base_url: str) -> None:
    client = Client(base_url, headers=signed_in(base_url), verbose=False)
    result = client.predict("What concessions did the US offer?", api_name="/ask")
    answer = Answer.model_validate(result)
    assert "SWIFT" in answer.text and answer.citations[0].marker == 1
    follow_up = client.predict(
        "Who led the US delegation?",
        [{"role": "user", "content": "What concessions did the US offer?"},
         {"role": "assistant", "content": answer.text}],
        api_name="/ask",
    )  # fmt: skip
    assert "Juan Gonzalez" in follow_up["text"]
    filtered = client.predict(
        "What concessions did the US offer?", None, "2023-01-01", api_name="/ask"
    )
    assert filtered["abstained"] is True


def test_gradio_client_ask_rejects_an_empty_question(base_url: str) -> None:
    client = Client(base_url, headers=signed_in(base_url), verbose=False)
    with pytest.raises(AppError, match="the question is empty"):
        client.predict("  ", api_name="/ask")


def test_gradio_client_sees_only_the_ask_endpoint(base_url: str) -> None:
    info = Client(base_url, headers=signed_in(base_url), verbose=False).view_api(
        print_info=False, return_format="dict"
    )
    assert list(info["named_endpoints"]) == ["/ask"]


def test_the_conversation_list_refreshes_without_a_progress_overlay(base_url: str) -> None:
    """After every answer the conversation list and its actions are refreshed; Gradio's
    "processing" overlay flashed over them each time (seen in screenshots)."""
    config = httpx.get(f"{base_url}/config", headers=signed_in(base_url)).json()
    ids = {
        c["id"]
        for c in config["components"]
        if c.get("props", {}).get("elem_id") in ("cq-conversations", "cq-actions", "cq-title")
    }
    assert len(ids) == 3
    refreshing = [
        d
        for d in config["dependencies"]
        if ids & set(d["outputs"]) and "load" not in {event for _, event in d["targets"]}
    ]
    assert len(refreshing) >= 5  # after an answer (3 ways to ask), opening, a new chat, ...
    assert {d["show_progress"] for d in refreshing} == {"hidden"}


def test_the_page_needs_a_login_when_users_are_set(base_url: str) -> None:
    assert httpx.get(f"{base_url}/config").status_code == 401
    with pytest.raises(Exception, match=r"(?i)login|credentials|401"):
        Client(base_url, verbose=False)
    page = httpx.get(f"{base_url}/", headers={"Accept": "text/html"})
    assert page.status_code == 303 and page.headers["location"] == "/login?next=%2F"
    wrong = httpx.post(f"{base_url}/login", data={"user": "ann", "password": "nope"})
    assert wrong.status_code == 401 and "Wrong user name or password" in wrong.text
    assert httpx.get(f"{base_url}/", headers=signed_in(base_url)).status_code == 200
    assert httpx.get(f"{base_url}/healthz").status_code == 200
