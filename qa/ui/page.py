"""The chat page: streaming answers with numbered source cards, a documents panel, filters,
and an ``/ask`` endpoint for ``gradio_client``. Layout here, behaviour in ``PageHandlers``,
HTML in ``qa.ui.render``; everything goes through the one ``Assistant``."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from qa.chain import AnswerEvent, SourcesEvent, TokenEvent
from qa.documents import SUPPORTED
from qa.http.context import Context
from qa.http.public import public_answer
from qa.service import InvalidRequest
from qa.types import Filters, IngestResult, Turn
from qa.ui.render import (
    documents_table,
    example_questions,
    render_answer,
    render_error,
    render_pending,
    upload_results,
    user_message,
)
from qa.uploads import UploadError

log = logging.getLogger(__name__)
HISTORY_TURNS = 8
HEADER = (
    '<div class="cq-header"><div class="cq-logo">❝</div><div><h1>citeqa</h1>'
    "<p>Answers from your documents. Every sentence is cited; when the documents "
    "don’t hold the answer, it says so.</p></div></div>"
)


def page_filters(date_from: str | None, date_to: str | None, doc_ids: list[str] | None) -> Filters:
    """The filter panel's values; a bad date is said on the page, not raised."""
    try:
        return Filters(
            date_from=date_from or None, date_to=date_to or None, doc_ids=doc_ids or None
        )
    except ValueError as exc:
        problems = "; ".join(
            f"{e['loc'][0]}: {str(e['msg']).removeprefix('Value error, ')}"
            for e in getattr(exc, "errors", lambda: [])()
        )
        raise gr.Error(problems or str(exc)) from None


class PageHandlers:
    """What the page's events do, bound to the service."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.assistant = ctx.assistant

    def doc_views(self) -> tuple[str, Any, Any, Any]:
        docs = self.assistant.documents()
        samples = example_questions(docs)
        choices = [(f"{d.get('title') or d['doc_id']} ({d.get('date') or 'undated'})", d["doc_id"])
                   for d in docs]  # fmt: skip
        return (
            documents_table(docs),
            gr.Dropdown(choices=choices, value=None),
            gr.Dropdown(choices=choices),
            gr.Dataset(samples=samples, visible=bool(samples)),
        )

    def respond(
        self,
        question: str,
        shown: list[dict[str, Any]],
        turns: list[dict[str, Any]],
        date_from: str | None,
        date_to: str | None,
        doc_ids: list[str] | None,
    ) -> Iterator[tuple[Any, ...]]:
        """Stream one answer into the chat: pending status, tokens, then the cited answer."""
        history = [Turn.model_validate(t) for t in turns[-HISTORY_TURNS:]]
        try:
            question = self.assistant.check_question(question or "", history)
        except InvalidRequest as exc:
            gr.Warning(exc.message)
            yield shown, shown, turns, question, gr.skip()
            return
        filters = page_filters(date_from, date_to, doc_ids)
        pending = render_pending("Searching the documents…")
        shown = [*shown, user_message(question), {"role": "assistant", "content": pending}]
        yield shown, shown, turns, "", gr.skip()
        streamed = ""
        try:
            for event in self.assistant.stream(question, history, filters):
                if isinstance(event, SourcesEvent):
                    shown[-1]["content"] = render_pending(f"Reading {len(event.sources)} passages…")
                elif isinstance(event, TokenEvent):
                    streamed += event.text
                    shown[-1]["content"] = render_pending(streamed)
                elif isinstance(event, AnswerEvent):
                    answer = event.answer
                    self.ctx.metrics.observe_answer(answer, "ui")
                    shown[-1]["content"] = render_answer(answer)
                    reply = Turn(role="assistant", content=answer.text,
                                 quotes=[c.quote for c in answer.citations])  # fmt: skip
                    turns = [*turns, {"role": "user", "content": question},
                             reply.model_dump()]  # fmt: skip
                    yield shown, shown, turns, "", answer.text
                    return
                yield shown, shown, turns, "", gr.skip()
        except Exception:  # said in the chat, where the user is looking
            log.exception("answering failed")
            shown[-1]["content"] = render_error("Answering failed; the server log has the details.")
            yield shown, shown, turns, question, gr.skip()  # the question back in the box

    def add_files(
        self,
        paths: list[str] | None,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio injects it by default)
    ) -> tuple[Any, ...]:
        if not paths:
            return (gr.skip(), *self.doc_views(), None)
        progress(0, desc="Saving")

        def advance(result: IngestResult, done: int, total: int) -> None:
            progress((done, total), desc=f"Ingesting {Path(result.path).name}")

        handles = [(Path(p).name, open(p, "rb")) for p in paths]  # noqa: SIM115
        try:
            results = self.assistant.add_files(handles, progress=advance)
        except UploadError as exc:
            raise gr.Error(exc.message) from exc
        finally:
            for _, handle in handles:
                handle.close()
        self.ctx.metrics.observe_ingest(r.status for r in results)
        return (upload_results([r.model_dump() for r in results]), *self.doc_views(), None)

    def delete(self, doc_id: str | None) -> tuple[Any, ...]:
        if not doc_id:
            raise gr.Error("Pick a document to remove first.")
        if not self.assistant.remove(doc_id):
            raise gr.Error(f"No document {doc_id!r}: it may already be gone.")
        gr.Info("Document removed.")
        return self.doc_views()

    def ask(
        self,
        question: str,
        history: list[dict[str, str]] | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        doc_ids: list[str] | None = None,
    ) -> dict[str, Any]:
        """Answer a question from the documents. Returns the Answer as JSON: text with [n]
        markers, citations (quote, document, offsets), sources, timings."""
        try:
            turns = [Turn.model_validate(t) for t in history or []]
            text = self.assistant.check_question(question, turns)
        except (InvalidRequest, ValueError) as exc:
            raise gr.Error(str(exc)) from exc
        answer = self.assistant.ask(text, turns, page_filters(date_from, date_to, doc_ids))
        self.ctx.metrics.observe_answer(answer, "gradio")
        return public_answer(answer).model_dump(mode="json")


def chat_column(max_chars: int) -> dict[str, Any]:
    """The conversation, the question box and its buttons, example questions."""
    parts: dict[str, Any] = {}
    parts["chatbot"] = gr.Chatbot(
        elem_id="cq-chat", show_label=False, height=560, buttons=[], feedback_options=None,
        latex_delimiters=[],
        placeholder="<div class='cq-placeholder'>Ask a question about your documents. "
        "Answers quote their sources.</div>",
    )  # fmt: skip
    with gr.Row(elem_id="cq-ask-row"):
        parts["question"] = gr.Textbox(
            placeholder="Ask a question…", show_label=False, container=False, scale=8,
            max_length=max_chars, elem_id="cq-question", autofocus=True,
        )  # fmt: skip
        parts["send"] = gr.Button("Ask", variant="primary", scale=1, elem_id="cq-send")
    with gr.Row():
        parts["new_chat"] = gr.Button("New conversation", size="sm", elem_id="cq-new")
        parts["copy"] = gr.Button("Copy answer", size="sm", elem_id="cq-copy")
    parts["examples"] = gr.Dataset(
        components=[parts["question"]], samples=[], label="Try asking", visible=False,
        elem_id="cq-examples",
    )  # fmt: skip
    return parts


def side_column(max_file_mb: float) -> dict[str, Any]:
    """Documents (upload, list, remove) and the filters."""
    parts: dict[str, Any] = {}
    with gr.Accordion("Documents", open=True, elem_id="cq-documents"):
        gr.Markdown(
            f"Upload {', '.join(s.lstrip('.') for s in SUPPORTED)} files, "
            f"up to {max_file_mb:g} MB each.",
            elem_classes="cq-hint",
        )
        parts["upload"] = gr.File(
            label="Add documents", file_count="multiple", file_types=list(SUPPORTED),
            elem_id="cq-upload", height=120,
        )  # fmt: skip
        parts["results"] = gr.HTML(elem_id="cq-upload-results")
        parts["doc_list"] = gr.HTML(elem_id="cq-doc-list")
        with gr.Row(elem_id="cq-remove-row"):
            parts["to_remove"] = gr.Dropdown(
                label="Remove a document", scale=3, elem_id="cq-remove-pick"
            )
            parts["remove"] = gr.Button("Remove", variant="stop", scale=1, size="sm")
    with gr.Accordion("Filters", open=False, elem_id="cq-filters"):
        parts["date_from"] = gr.DateTime(label="From", include_time=False, type="string")
        parts["date_to"] = gr.DateTime(label="To", include_time=False, type="string")
        parts["only_docs"] = gr.Dropdown(
            label="Only these documents", multiselect=True, elem_id="cq-only-docs"
        )
    return parts


def wire(page: gr.Blocks, handlers: PageHandlers, c: dict[str, Any]) -> None:
    """Connect the page's events to the handlers (all private: ``/ask`` is the one API)."""
    private: dict[str, Any] = {"api_visibility": "private"}
    chat_in = [c["question"], c["shown"], c["turns"], c["date_from"], c["date_to"], c["only_docs"]]
    chat_out = [c["chatbot"], c["shown"], c["turns"], c["question"], c["last_answer"]]
    for trigger in (c["question"].submit, c["send"].click):
        trigger(handlers.respond, chat_in, chat_out, **private)
    c["examples"].click(lambda s: s[0], c["examples"], c["question"], **private).then(
        handlers.respond, chat_in, chat_out, **private
    )
    reset = [c["chatbot"], c["shown"], c["turns"], c["question"], c["last_answer"]]
    c["new_chat"].click(lambda: ([], [], [], "", ""), None, reset, **private)
    # The chat's own clear button empties the display; the conversation must go too.
    c["chatbot"].clear(lambda: ([], [], ""), None, reset[1:3] + reset[4:], **private)
    copy_js = "(text) => { if (text) { navigator.clipboard.writeText(text); } return []; }"
    c["copy"].click(None, c["last_answer"], None, js=copy_js, **private)
    views = [c["doc_list"], c["to_remove"], c["only_docs"], c["examples"]]
    c["upload"].upload(handlers.add_files, c["upload"], [c["results"], *views, c["upload"]],
                       **private)  # fmt: skip
    c["remove"].click(handlers.delete, c["to_remove"], views, **private)
    page.load(handlers.doc_views, None, views, **private)
    gr.api(handlers.ask, api_name="ask")


def build_ui(ctx: Context) -> gr.Blocks:
    """The chat page, bound to the service in ``ctx``."""
    settings = ctx.settings
    with gr.Blocks(title="citeqa — answers with sources", analytics_enabled=False) as page:
        parts: dict[str, Any] = {
            "shown": gr.State([]),
            "turns": gr.State([]),
            "last_answer": gr.Textbox(visible=False, elem_id="cq-last-answer"),
        }
        gr.HTML(HEADER)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=420):
                parts |= chat_column(settings.max_question_chars)
            with gr.Column(scale=2, min_width=320):
                parts |= side_column(settings.max_file_mb)
        wire(page, PageHandlers(ctx), parts)
    page.queue(default_concurrency_limit=4)
    return page
