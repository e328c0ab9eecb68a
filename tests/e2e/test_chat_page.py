"""The chat page in Debian Chromium, driven by Playwright, against a server this test starts
on an empty store: upload, ask, follow up, copy, and a document that carries HTML."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from qa.config import Settings
from qa.http.app import create_app
from qa.service import Assistant
from tests.conftest import SAMPLE
from tests.qa.serving import running

# Gradio's queue trips a pandas deprecation warning on every event; it is not ours to fix.
pytestmark = [pytest.mark.e2e, pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")]
XSS = "<img src=x onerror=alert(1)>"
SWIFT_SENTENCE = (
    "As a concession, the US officials were willing to consider temporarily allowing "
    "Venezuela to use the SWIFT system"
)
TIMEOUT = 60_000


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory, embeddings: Any) -> Iterator[str]:
    root = tmp_path_factory.mktemp("e2e")
    # No bundled examples: the page itself must bring the document in.
    settings = Settings(data_dir=root / "data", mode="extractive", examples_dir=root / "none")
    with running(create_app(settings, Assistant(settings, embeddings))) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            ],
        )
        yield chromium
        chromium.close()


def shot(page: Page, folder: Path, name: str) -> None:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def ask(page: Page, question: str) -> None:
    """Ask, then wait until the newest answer is final (no longer streaming)."""
    answers = page.locator("#cq-chat [data-testid='bot']")
    before = answers.count()
    page.locator("#cq-question textarea").fill(question)
    page.locator("#cq-send").click()
    expect(answers).to_have_count(before + 1, timeout=TIMEOUT)
    expect(answers.last.locator(".cq-answer:not(.cq-pending)")).to_be_visible(timeout=TIMEOUT)


def upload(page: Page, path: Path) -> None:
    page.locator("#cq-upload input[type=file]").set_input_files(str(path))
    result = page.locator("#cq-upload-results .cq-result", has_text=path.name)
    expect(result).to_be_visible(timeout=TIMEOUT)
    expect(result.locator(".cq-badge")).to_have_text("added")


def test_upload_ask_follow_up_and_escaping(browser: Browser, base_url: str, tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 1360, "height": 1000})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(base_url)
    expect(page.locator("#cq-doc-list")).to_contain_text("No documents yet", timeout=TIMEOUT)
    shot(page, tmp_path, "0-empty")

    upload(page, SAMPLE)
    expect(page.locator("#cq-doc-list")).to_contain_text("venezuela talks")
    expect(page.locator("#cq-examples")).to_contain_text("venezuela talks")

    ask(page, "What concessions did the US offer?")
    answer = page.locator("#cq-chat [data-testid='bot']").last
    expect(answer.locator(".cq-answer")).to_contain_text("SWIFT")
    expect(answer.locator(".cq-answer .cq-ref").first).to_have_text("[1]")
    card = answer.locator(".cq-card").first
    expect(card.locator(".cq-num")).to_have_text("1")
    expect(card.locator("mark")).to_contain_text(SWIFT_SENTENCE)
    shot(page, tmp_path, "1-answer")

    ask(page, "Who led the US delegation?")
    follow_up = page.locator("#cq-chat [data-testid='bot']").last
    expect(follow_up.locator(".cq-answer")).to_contain_text("Juan Gonzalez")
    expect(follow_up.locator(".cq-card mark").first).to_contain_text("Juan Gonzalez")
    shot(page, tmp_path, "2-follow-up")

    page.locator("#cq-copy").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "Juan Gonzalez" in copied and "<" not in copied

    hostile = tmp_path / "widget-report.md"
    hostile.write_text(
        f"# Widget report {XSS}\n\nThe quarterly widget audit found the markup {XSS} "
        "inside the purple widget manual.\n",
        encoding="utf-8",
    )
    upload(page, hostile)
    expect(page.locator("#cq-doc-list")).to_contain_text(f"Widget report {XSS}")
    ask(page, "What did the quarterly widget audit find?")
    answer = page.locator("#cq-chat [data-testid='bot']").last
    expect(answer.locator(".cq-card mark").first).to_contain_text(f"the markup {XSS} inside")
    expect(answer.locator(".cq-card .cq-title").first).to_have_text(f"Widget report {XSS}")
    assert page.locator("img[src='x']").count() == 0
    page.wait_for_timeout(500)  # an onerror handler would have fired by now
    assert dialogs == []
    shot(page, tmp_path, "3-escaped")

    page.locator("#cq-new").click()
    expect(page.locator("#cq-chat [data-testid='bot']")).to_have_count(0)
    context.close()
