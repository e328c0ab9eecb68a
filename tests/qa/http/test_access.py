"""Access to collections (``CITEQA_ACCESS``): two collections, three users, one real server.

``news`` holds the bundled Reuters article, ``vault`` a memo with words found nowhere else.
ann reads and writes news, ben reads everything and writes nothing, cy reads only the vault.
Every way in (the REST routes, the stream, the OpenAI-compatible routes, the page's
``/ask`` through ``gradio_client`` and the page's documents panel) must never show a chunk,
title or count of a collection the caller may not read, and refuse writes they may not make.
Each test also shows the vault to someone who may read it, so a test that never found the
memo could not pass by accident.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr
import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError
from starlette.requests import Request

from qa.config import Settings
from qa.http.app import create_app
from qa.service import Assistant, UnknownCollection
from qa.ui.handlers import PageHandlers
from tests.conftest import SAMPLE
from tests.qa.serving import running

pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")
KEYS = {"ann": "key-ann", "ben": "key-ben", "cy": "key-cy"}
ACCESS = "ann=write:news;ben=read:*;cy=read:vault"
MEMO = (
    "date 2023-05-02\n"
    "Bluefin memo\n\n"
    "Project Bluefin will move the Harwick refinery to Tallow Bay next spring, the memo says. "
    "The Bluefin budget is forty million crowns.\n"
)
# In the memo (its text, title, file name) and nowhere else; the question names only Bluefin.
SECRET_WORDS = ("Tallow", "crowns", "Bluefin memo", "bluefin-memo")
QUESTION = "Where will Project Bluefin move the Harwick refinery?"


def headers(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[user]}"}


def assert_no_vault(text: str) -> None:
    """Not a word, title or name of the vault in a response."""
    for word in (*SECRET_WORDS, "vault"):
        assert word not in text, f"{word!r} leaked: {text[:300]}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, embeddings: Any) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("access")
    memo = root / "bluefin-memo.txt"
    memo.write_text(MEMO, encoding="utf-8")
    settings = Settings(
        data_dir=root / "data",
        mode="extractive",
        collection="news",
        examples_dir=root / "none",
        api_keys=",".join(f"{u}:{k}" for u, k in KEYS.items()),
        access=ACCESS,
    )
    assistant = Assistant(settings, embeddings)
    assistant.ingest([SAMPLE], "news")  # the operator, not a user: no policy applies
    assistant.ingest([memo], "vault")
    app = create_app(settings, assistant)
    with running(app) as url:
        yield {"url": url, "app": app, "assistant": assistant}


def get(server: dict[str, Any], user: str, path: str, **params: Any) -> httpx.Response:
    return httpx.get(f"{server['url']}{path}", params=params, headers=headers(user), timeout=60)


def post(server: dict[str, Any], user: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.post(f"{server['url']}{path}", headers=headers(user), timeout=120, **kwargs)


# --- collections and documents --------------------------------------------------------------


def test_collections_list_only_what_the_user_may_read(server: dict[str, Any]) -> None:
    listed = {u: get(server, u, "/v1/collections").json() for u in KEYS}
    assert [c["name"] for c in listed["ann"]] == ["news"]
    assert [c["name"] for c in listed["cy"]] == ["vault"]
    assert [c["name"] for c in listed["ben"]] == ["news", "vault"]
    assert listed["ben"][1]["documents"] == 1 and listed["ben"][1]["chunks"] >= 1
    assert_no_vault(json.dumps(listed["ann"]))


def test_a_collection_one_may_not_read_looks_like_one_that_does_not_exist(
    server: dict[str, Any],
) -> None:
    hidden = get(server, "ann", "/v1/documents", collection="vault")
    missing = get(server, "ann", "/v1/documents", collection="vaulx")
    assert hidden.status_code == missing.status_code == 404
    assert (
        hidden.json()["error"]["message"].replace("vault", "vaulx")
        == (missing.json()["error"]["message"])
    )
    assert get(server, "cy", "/v1/documents").status_code == 404  # the default is news
    seen = get(server, "ben", "/v1/documents", collection="vault").json()
    assert seen["total"] == 1 and seen["documents"][0]["title"] == "Bluefin memo"
    assert_no_vault(get(server, "ann", "/v1/documents").text)


def test_writes_need_write_access_and_store_nothing_when_refused(
    server: dict[str, Any], tmp_path: Path
) -> None:
    note = tmp_path / "note.txt"
    note.write_text("date 2023-06-01\nA note\n\nThe note is short.\n", encoding="utf-8")

    def upload(user: str, collection: str) -> httpx.Response:
        with note.open("rb") as handle:
            files = {"files": ("note.txt", handle, "text/plain")}
            return post(server, user, "/v1/documents", files=files,
                        data={"collection": collection})  # fmt: skip

    before = {c["name"]: c["documents"] for c in get(server, "ben", "/v1/collections").json()}
    for user, collection in (("ann", "vault"), ("ann", "brand-new"), ("ben", "news"),
                             ("cy", "vault")):  # fmt: skip
        refused = upload(user, collection)
        assert refused.status_code == 403, (user, collection, refused.text)
        assert refused.json()["error"]["type"] == "permission_error"
    after = {c["name"]: c["documents"] for c in get(server, "ben", "/v1/collections").json()}
    assert after == before  # no document stored, no collection created
    doc_id = get(server, "ben", "/v1/documents", collection="vault").json()["documents"][0]
    for user in ("ben", "cy", "ann"):
        gone = httpx.delete(f"{server['url']}/v1/documents/{doc_id['doc_id']}",
                            params={"collection": "vault"}, headers=headers(user))  # fmt: skip
        assert gone.status_code == 403
    assert get(server, "cy", "/v1/documents", collection="vault").json()["total"] == 1
    added = upload("ann", "news")
    assert added.status_code == 200 and added.json()["results"][0]["status"] == "added"


def test_metrics_count_every_collection_so_only_admins_see_them(server: dict[str, Any]) -> None:
    for user in KEYS:  # ben reads everything but is no admin
        assert get(server, user, "/metrics").status_code == 403


# --- retrieval and answers --------------------------------------------------------------------


def test_search_is_limited_to_readable_collections(server: dict[str, Any]) -> None:
    assistant: Assistant = server["assistant"]
    with pytest.raises(UnknownCollection):
        assistant.search(QUESTION, collection="vault", user="ann")
    assert not any(
        word in hit.chunk.text
        for hit in assistant.search(QUESTION, collection="news", user="ann")
        for word in SECRET_WORDS
    )
    found = assistant.search(QUESTION, collection="vault", user="cy")
    assert "Tallow Bay" in found[0].chunk.text


def test_ask_and_stream_never_cite_a_collection_one_may_not_read(server: dict[str, Any]) -> None:
    for route in ("/v1/ask", "/v1/ask/stream"):
        own = post(server, "ann", route, json={"question": QUESTION})
        assert own.status_code == 200
        assert_no_vault(own.text)
        hidden = post(server, "ann", route, json={"question": QUESTION, "collection": "vault"})
        assert hidden.status_code == 404
        assert_no_vault(hidden.text.replace("'vault'", ""))  # the name the caller sent
    answer = post(server, "cy", "/v1/ask", json={"question": QUESTION, "collection": "vault"})
    assert "Tallow Bay" in answer.json()["text"]
    assert post(server, "cy", "/v1/ask", json={"question": QUESTION}).status_code == 404


def test_openai_models_and_completions_follow_access(server: dict[str, Any]) -> None:
    models = {u: [m["id"] for m in get(server, u, "/v1/models").json()["data"]] for u in KEYS}
    assert models == {"ann": ["news"], "ben": ["news", "vault"], "cy": ["vault"]}
    assert get(server, "ann", "/v1/models/vault").status_code == 404
    messages = [{"role": "user", "content": QUESTION}]
    for stream in (False, True):
        hidden = post(server, "ann", "/v1/chat/completions",
                      json={"model": "vault", "messages": messages, "stream": stream})  # fmt: skip
        assert hidden.status_code == 404
        assert "news" in hidden.text and "Tallow" not in hidden.text
        own = post(server, "ann", "/v1/chat/completions",
                   json={"model": "news", "messages": messages, "stream": stream})  # fmt: skip
        assert own.status_code == 200
        assert_no_vault(own.text)
    allowed = post(server, "cy", "/v1/chat/completions",
                   json={"model": "vault", "messages": messages})  # fmt: skip
    assert "Tallow Bay" in allowed.json()["choices"][0]["message"]["content"]


# --- the page -----------------------------------------------------------------------------------


def test_the_page_ask_endpoint_acts_as_the_signed_in_user(server: dict[str, Any]) -> None:
    ann = Client(server["url"], headers=headers("ann"), verbose=False)
    with pytest.raises(AppError, match="no collection 'vault'"):
        ann.predict(QUESTION, None, None, None, None, "vault", api_name="/ask")
    assert_no_vault(json.dumps(ann.predict(QUESTION, api_name="/ask")))
    cy = Client(server["url"], headers=headers("cy"), verbose=False)
    answer = cy.predict(QUESTION, None, None, None, None, "vault", api_name="/ask")
    assert "Tallow Bay" in answer["text"]
    with pytest.raises(AppError, match="no collection 'news'"):
        cy.predict(QUESTION, api_name="/ask")  # cy may not read the default collection


def page_request(user: str | None) -> gr.Request:
    """The request Gradio hands a handler: an HTTP request whose scope the gate has set."""
    scope = {"type": "http", "method": "POST", "path": "/", "headers": [], "query_string": b"",
             "state": {"user": user} if user else {}}  # fmt: skip
    return gr.Request(request=Request(scope))


def test_the_page_documents_panel_shows_only_readable_collections(
    server: dict[str, Any],
) -> None:
    handlers = PageHandlers(server["app"].state.ctx)
    doc_list, *_, upload_box, _ = handlers.doc_views(None, page_request("cy"))
    assert "Bluefin memo" in doc_list and upload_box.visible is False
    loaded = handlers.load(page_request("ann"))
    picker, doc_list, removable, only_docs, examples = loaded[:5]
    assert picker.choices == [("news", "news")] and picker.value == "news"
    for part in (doc_list, str(removable.choices), str(only_docs.choices), str(examples.samples)):
        assert_no_vault(part)
    # Asking for the vault by name falls back to what ann may read.
    assert_no_vault(handlers.doc_views("vault", page_request("ann"))[0])
    with pytest.raises(gr.Error, match="not signed in"):
        handlers.doc_views(None, page_request(None))
