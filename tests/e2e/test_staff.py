"""Staff use in Debian Chromium: saved conversations, share links, a thumbs-down that becomes
evaluation data, and who may open what. Three page users on one server: alice writes the
documents, bob may read them, carol may read only another collection."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from qa.config import Settings
from qa.http.app import create_app
from qa.service import Assistant
from tests.e2e.test_chat_page import SWIFT_SENTENCE, TIMEOUT, ask, browser, shot  # noqa: F401
from tests.qa.serving import running

pytestmark = [pytest.mark.e2e, pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")]
QUESTION = "What concessions did the US offer?"
USERS = {"alice": "pw-a", "bob": "pw-b", "carol": "pw-c"}


def sign_in(chromium: Browser, base_url: str, user: str) -> tuple[BrowserContext, Page]:
    context = chromium.new_context(viewport={"width": 1360, "height": 1000})
    page = context.new_page()
    page.goto(f"{base_url}/login")
    page.fill("#user", user)
    page.fill("#password", USERS[user])
    page.click("button[type=submit]")
    expect(page.locator("#cq-question textarea")).to_be_visible(timeout=TIMEOUT)
    expect(page.locator("#cq-user")).to_contain_text(user, timeout=TIMEOUT)
    return context, page


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        mode="extractive",
        ui_users=",".join(f"{u}:{p}" for u, p in USERS.items()),
        access="alice=write:documents;bob=read:documents;carol=read:other",
    )


def test_save_reopen_share_and_report(
    browser: Browser,  # noqa: F811 (fixture)
    settings: Settings,
    embeddings: Any,
    tmp_path: Path,
) -> None:
    with running(create_app(settings, Assistant(settings, embeddings))) as base_url:
        browse(browser, base_url, tmp_path)
    # The server is gone; the command line reads the thumbs-down it saved.
    out = tmp_path / "from-feedback"
    env = {**os.environ, "CITEQA_DATA_DIR": str(settings.data_dir), "CITEQA_MODE": "extractive"}
    result = subprocess.run(
        [sys.executable, "-c", "from qa.cli import main; main()",
         "eval", "prepare", "feedback", str(out)],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    items = [json.loads(line) for line in (out / "questions.jsonl").read_text().splitlines()]
    assert [(i["question"], i["answerable"]) for i in items] == [(QUESTION, False)]
    assert SWIFT_SENTENCE in (out / "docs.jsonl").read_text()


def browse(chromium: Browser, base_url: str, tmp_path: Path) -> None:
    """alice asks, reloads, reopens, renames, shares and reports; bob and carol open the link."""
    alice, page = sign_in(chromium, base_url, "alice")
    conversations = page.locator("#cq-conversations label")
    expect(page.locator("#cq-doc-list")).to_contain_text("venezuela talks", timeout=TIMEOUT)
    ask(page, QUESTION)
    expect(conversations.first).to_have_text(QUESTION, timeout=TIMEOUT)
    shot(page, tmp_path, "0-asked")

    # A reload loses nothing: the conversation is listed and reopens with its source cards.
    page.reload()
    expect(conversations).to_have_count(1, timeout=TIMEOUT)
    expect(page.locator("#cq-chat [data-testid='bot']")).to_have_count(0)
    conversations.first.click()
    answer = page.locator("#cq-chat [data-testid='bot']").last
    expect(answer.locator(".cq-card mark").first).to_contain_text(SWIFT_SENTENCE, timeout=TIMEOUT)
    expect(answer.locator(".cq-answer .cq-ref").first).to_have_text("[1]")
    shot(page, tmp_path, "1-reopened")

    # Rename it; a second conversation goes on top, and is deleted again.
    page.locator("#cq-title input, #cq-title textarea").first.fill("US concessions")
    page.locator("#cq-rename").click()
    expect(conversations.first).to_have_text("US concessions", timeout=TIMEOUT)
    page.locator("#cq-new").click()
    expect(page.locator("#cq-chat [data-testid='bot']")).to_have_count(0, timeout=TIMEOUT)
    ask(page, "What is the boiling point of mercury?")
    expect(conversations).to_have_count(2, timeout=TIMEOUT)
    expect(conversations.first).to_have_text("What is the boiling point of mercury?")
    page.on("dialog", lambda dialog: dialog.accept())
    page.locator("#cq-delete").click()
    expect(conversations).to_have_count(1, timeout=TIMEOUT)
    expect(page.locator("#cq-chat [data-testid='bot']")).to_have_count(0)

    # Share the first one.
    conversations.first.click()
    expect(answer.locator(".cq-card mark").first).to_contain_text(SWIFT_SENTENCE, timeout=TIMEOUT)
    page.locator("#cq-share").click()
    link_box = page.locator("#cq-share-link input, #cq-share-link textarea").first
    expect(link_box).to_be_visible(timeout=TIMEOUT)
    page.wait_for_function(
        "() => document.querySelector('#cq-share-link input, #cq-share-link textarea')"
        ".value.includes('/shared/')",
        timeout=TIMEOUT,
    )
    link = link_box.input_value()
    assert link.startswith(f"{base_url}/shared/")
    shot(page, tmp_path, "2-shared")

    # Thumbs down with a reason.
    page.locator("#cq-chat button[aria-label='Dislike']").last.click()
    form = page.locator("#cq-feedback").first  # Gradio gives a group's id to two nested divs
    expect(form).to_be_visible(timeout=TIMEOUT)
    form.locator("label", has_text="Not in the documents").click()
    shot(page, tmp_path, "3-thumbs-down")
    page.locator("#cq-send-feedback").click()
    expect(form).to_be_hidden(timeout=TIMEOUT)

    # bob may read the documents: the link opens read-only, with the highlighted quotes.
    bob, bob_page = sign_in(chromium, base_url, "bob")
    expect(bob_page.locator("#cq-conversations label")).to_have_count(0)  # not in his list
    response = bob_page.goto(link)
    assert response is not None and response.status == 200
    expect(bob_page.locator(".cq-shared-head .cq-badge")).to_have_text("read-only")
    expect(bob_page.locator(".cq-card mark").first).to_contain_text(SWIFT_SENTENCE)
    expect(bob_page.locator(".cq-shared-head h1")).to_have_text("US concessions")
    shot(bob_page, tmp_path, "4-bob-reads")

    # carol may not: the link is not found, like a wrong one, and says nothing of it.
    carol, carol_page = sign_in(chromium, base_url, "carol")
    response = carol_page.goto(link)
    assert response is not None and response.status == 404
    expect(carol_page.locator("h1").last).to_have_text("Not found")
    assert "SWIFT" not in carol_page.content() and "concessions" not in carol_page.content()
    api = carol.request.get(link.replace("/shared/", "/v1/shared/"))
    assert api.status == 404
    shot(carol_page, tmp_path, "5-carol-404")
    for context in (alice, bob, carol):
        context.close()
