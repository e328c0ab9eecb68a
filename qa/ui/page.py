"""The chat page: streaming answers with numbered source cards, saved conversations, thumbs,
a documents panel, filters, an admin insights tab, and an ``/ask`` endpoint for
``gradio_client``. Layout here, behaviour in ``PageHandlers`` (conversations, feedback and
insights in ``qa.ui.history``), HTML in ``qa.ui.render``; everything goes through the one
``Assistant`` and ``People``, as the signed-in user."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import gradio as gr

from qa.chain_io import AnswerEvent, SourcesEvent, TokenEvent
from qa.documents import SUPPORTED
from qa.http.context import Context
from qa.http.public import public_answer
from qa.http.turns import bounded
from qa.people.identity import User
from qa.people.records import Forbidden
from qa.service import InvalidRequest, UnknownCollection
from qa.types import Answer, Filters, IngestResult, Turn, parse_as_of
from qa.ui.history import (
    CHAT,
    DISLIKE,
    LIKE,
    PRIVATE,
    QUIET,
    SIDEBAR,
    History,
    conversation_column,
    feedback_panel,
    insights_tab,
    page_user,
    wire_history,
)
from qa.ui.render import (
    documents_table,
    esc,
    example_questions,
    render_answer,
    render_error,
    render_pending,
    upload_results,
    user_message,
)
from qa.uploads import UploadError

log = logging.getLogger(__name__)
NO_ACCESS = "You may not read any collection yet; ask an administrator for access."
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


def page_as_of(value: str | None) -> date | None:
    """The As-of field: strict ISO, or empty for today."""
    if not value:
        return None
    try:
        day = parse_as_of(str(value).split(" ")[0].split("T")[0])
    except ValueError as exc:
        raise gr.Error(f"As of: {exc}") from None
    assert isinstance(day, date)
    return day


class PageHandlers:
    """What the page's events do, bound to the service, as the signed-in user."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.assistant = ctx.assistant
        self.history = History(ctx)

    def pick(self, name: str | None, user: User) -> str | None:
        """The collection the page works on: the chosen one if readable, else the user's
        default; None when they may read none."""
        found = name if name and name in self.assistant.collections(user.name) else None
        return found or self.assistant.default_collection(user.name)

    def collection(self, name: str | None, user: User) -> str:
        found = self.pick(name, user)
        if found is None:
            raise gr.Error(NO_ACCESS)
        return found

    def doc_views(self, collection: str | None, request: gr.Request) -> tuple[Any, ...]:
        """The documents panel of a collection the user may read (list, pickers, examples)."""
        user = page_user(request)
        name = self.pick(collection, user)
        if name is None:
            return (f'<div class="cq-empty">{NO_ACCESS}</div>', gr.Dropdown(choices=[]),
                    gr.Dropdown(choices=[]), gr.Dataset(samples=[], visible=False),
                    gr.Column(visible=False), gr.Row(visible=False))  # fmt: skip
        docs = self.assistant.documents(name, user=user.name)
        samples = example_questions(docs)
        choices = [(f"{d.get('title') or d['doc_id']} ({d.get('date') or 'undated'})", d["doc_id"])
                   for d in docs]  # fmt: skip
        writable = self.assistant.policy.can_write(user.name, name)
        return (
            documents_table(docs),
            gr.Dropdown(choices=choices, value=None),
            gr.Dropdown(choices=choices),
            gr.Dataset(samples=samples, visible=bool(samples)),
            gr.Column(visible=writable),
            gr.Row(visible=writable),
        )

    def load(self, request: gr.Request) -> tuple[Any, ...]:
        """Everything that depends on who opened the page."""
        user = page_user(request)
        readable = self.assistant.collections(user.name)
        start = self.assistant.default_collection(user.name)
        choices = sorted(set(readable) | ({start} if start else set()))
        signed_in = (
            f'<div class="cq-user">{esc(user.name)} · <a href="/logout">Sign out</a></div>'
            if self.ctx.people.identity.enabled
            else ""
        )
        return (
            gr.Dropdown(choices=choices, value=start, visible=len(choices) > 1),
            *self.doc_views(start, request),
            self.history.listing(user, None),
            gr.Tab(visible=self.history.is_admin(request)),
            signed_in,
        )

    def sent_history(self, turns: list[dict[str, Any]]) -> list[Turn]:
        """The conversation on screen as the history a question may carry (the newest turns
        within the request limits)."""
        settings = self.assistant.settings
        messages = [Turn.model_validate(t) for t in turns]
        return bounded(messages, settings.max_history_turns, settings.max_history_chars)

    def respond(
        self,
        question: str,
        shown: list[dict[str, Any]],
        turns: list[dict[str, Any]],
        date_from: str | None,
        date_to: str | None,
        doc_ids: list[str] | None,
        as_of: str | None,
        collection: str | None,
        conversation: str | None,
        numbers: dict[int, int],
        request: gr.Request,
    ) -> Iterator[tuple[Any, ...]]:
        """Stream one answer into the chat: pending status, tokens, then the cited answer,
        saved as the next turn of the open conversation (a new one on the first question)."""
        user = page_user(request)
        history = self.sent_history(turns)

        def out(question_box: Any, last: Any = None) -> tuple[Any, ...]:
            last = gr.skip() if last is None else last
            return shown, shown, turns, question_box, last, conversation, numbers

        try:
            question = self.assistant.check_question(question or "", history)
        except InvalidRequest as exc:
            gr.Warning(exc.message)
            yield out(question)
            return
        filters = page_filters(date_from, date_to, doc_ids)
        day = page_as_of(as_of)
        name = self.collection(collection, user)
        pending = render_pending("Searching the documents…")
        shown = [*shown, user_message(question), {"role": "assistant", "content": pending}]
        yield out("")
        streamed = ""
        try:
            events = self.assistant.stream(
                question, history, filters, None, name, user.name, as_of=day
            )
            for event in events:
                if isinstance(event, SourcesEvent):
                    shown[-1]["content"] = render_pending(f"Reading {len(event.sources)} passages…")
                elif isinstance(event, TokenEvent):
                    streamed += event.text
                    shown[-1]["content"] = render_pending(streamed)
                elif isinstance(event, AnswerEvent):
                    shown[-1]["content"] = render_answer(event.answer)
                    turns, conversation, numbers = self.finish(
                        event.answer, question, turns, (user, conversation, numbers, name),
                        len(shown) - 1)  # fmt: skip
                    yield out("", event.answer.text)
                    return
                yield out("")
        except Exception:  # said in the chat, where the user is looking
            log.exception("answering failed")
            shown[-1]["content"] = render_error("Answering failed; the server log has the details.")
            yield out(question)  # the question back in the box

    def finish(
        self,
        answer: Answer,
        question: str,
        turns: list[dict[str, Any]],
        where: tuple[User, str | None, dict[int, int], str],
        index: int,
    ) -> tuple[list[dict[str, Any]], str | None, dict[int, int]]:
        """Count the answer, add it to the turns the next question sees, and save it."""
        user, conversation, numbers, name = where
        self.ctx.metrics.observe_answer(answer, "ui")
        reply = Turn.reply(answer).model_dump()
        turns = [*turns, {"role": "user", "content": question}, reply]
        conversation, numbers = self.keep(user, conversation, numbers, answer, name, index)
        return turns, conversation, numbers

    def keep(
        self,
        user: User,
        conversation: str | None,
        numbers: dict[int, int],
        answer: Answer,
        collection: str,
        index: int,
    ) -> tuple[str | None, dict[int, int]]:
        """Save the answer; a failed save is said, and the answer stays on the page."""
        try:
            conversation, number = self.history.save(user, conversation, answer, collection)
        except Exception:
            log.exception("saving the answer failed")
            gr.Warning("This answer could not be saved to your conversations.")
            return conversation, numbers
        return conversation, {**numbers, index: number}

    def add_files(
        self,
        paths: list[str] | None,
        collection: str | None,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio injects it by default)
    ) -> tuple[Any, ...]:
        if not paths:
            return (gr.skip(), *self.doc_views(collection, request), None)
        user = page_user(request)
        try:
            name = self.assistant.resolve_collection(
                self.collection(collection, user), create=True, user=user.name
            )
        except Forbidden as exc:
            raise gr.Error(str(exc)) from None
        progress(0, desc="Saving")

        def advance(result: IngestResult, done: int, total: int) -> None:
            progress((done, total), desc=f"Ingesting {Path(result.path).name}")

        handles = [(Path(p).name, open(p, "rb")) for p in paths]  # noqa: SIM115
        try:
            results = self.assistant.add_files(handles, name, progress=advance)
        except UploadError as exc:
            raise gr.Error(exc.message) from exc
        finally:
            for _, handle in handles:
                handle.close()
        self.ctx.metrics.observe_ingest(r.status for r in results)
        views = self.doc_views(name, request)
        return (upload_results([r.model_dump() for r in results]), *views, None)

    def delete(
        self, doc_id: str | None, collection: str | None, request: gr.Request
    ) -> tuple[Any, ...]:
        if not doc_id:
            raise gr.Error("Pick a document to remove first.")
        user = page_user(request)
        try:
            name = self.assistant.resolve_collection(
                self.collection(collection, user), user=user.name, write=True
            )
        except Forbidden as exc:
            raise gr.Error(str(exc)) from None
        if not self.assistant.remove(doc_id, name):
            raise gr.Error(f"No document {doc_id!r}: it may already be gone.")
        gr.Info("Document removed.")
        return self.doc_views(name, request)

    def ask(
        self,
        question: str,
        history: list[dict[str, str]] | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        doc_ids: list[str] | None = None,
        collection: str | None = None,
        as_of: str | None = None,
        request: gr.Request = None,  # type: ignore[assignment]  # Gradio passes it
    ) -> dict[str, Any]:
        """Answer a question from the documents. Returns the Answer as JSON: text with [n]
        markers, citations (quote, document, offsets), sources, timings."""
        user = page_user(request)
        try:
            turns = [Turn.model_validate(t) for t in history or []]
            text = self.assistant.check_question(question, turns)
            name = self.assistant.resolve_collection(collection, user=user.name)
        except (InvalidRequest, UnknownCollection, ValueError) as exc:
            raise gr.Error(str(exc)) from exc
        filters = page_filters(date_from, date_to, doc_ids)
        answer = self.assistant.ask(
            text, turns, filters, None, name, user=user.name, as_of=page_as_of(as_of)
        )
        self.ctx.metrics.observe_answer(answer, "gradio")
        return public_answer(answer).model_dump(mode="json")


def chat_column(max_chars: int) -> dict[str, Any]:
    """The conversation, the thumbs-down form, the question box and example questions."""
    parts: dict[str, Any] = {}
    parts["chatbot"] = gr.Chatbot(
        elem_id="cq-chat", show_label=False, height=560, buttons=[],
        feedback_options=(LIKE, DISLIKE), latex_delimiters=[],
        placeholder="<div class='cq-placeholder'>Ask a question about your documents. "
        "Answers quote their sources.</div>",
    )  # fmt: skip
    parts |= feedback_panel()
    with gr.Row(elem_id="cq-ask-row"):
        parts["question"] = gr.Textbox(
            placeholder="Ask a question…", show_label=False, container=False, scale=8,
            max_length=max_chars, elem_id="cq-question", autofocus=True,
        )  # fmt: skip
        parts["send"] = gr.Button("Ask", variant="primary", scale=1, elem_id="cq-send")
    with gr.Row():
        parts["copy"] = gr.Button("Copy answer", size="sm", elem_id="cq-copy")
    parts["examples"] = gr.Dataset(
        components=[parts["question"]], samples=[], label="Try asking", visible=False,
        elem_id="cq-examples",
    )  # fmt: skip
    return parts


def side_column(max_file_mb: float) -> dict[str, Any]:
    """The collection, its documents (upload, list, remove) and the filters."""
    parts: dict[str, Any] = {}
    parts["collection"] = gr.Dropdown(
        label="Collection", choices=[], visible=False, elem_id="cq-collection"
    )
    with gr.Accordion("Documents", open=True, elem_id="cq-documents"):
        with gr.Column(elem_id="cq-upload-box") as parts["upload_box"]:
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
        with gr.Row(elem_id="cq-remove-row") as parts["remove_row"]:
            parts["to_remove"] = gr.Dropdown(
                label="Remove a document", scale=3, elem_id="cq-remove-pick"
            )
            parts["remove"] = gr.Button("Remove", variant="stop", scale=1, size="sm")
    with gr.Accordion("Filters", open=False, elem_id="cq-filters"):
        parts["date_from"] = gr.DateTime(label="From", include_time=False, type="string")
        parts["date_to"] = gr.DateTime(label="To", include_time=False, type="string")
        parts["as_of"] = gr.DateTime(
            label="As of (default: today)", include_time=False, type="string", elem_id="cq-as-of"
        )
        parts["only_docs"] = gr.Dropdown(
            label="Only these documents", multiselect=True, elem_id="cq-only-docs"
        )
    return parts


def wire(page: gr.Blocks, handlers: PageHandlers, c: dict[str, Any]) -> None:
    """Connect the page's events to the handlers (all private: ``/ask`` is the one API)."""
    chat_in = [c["question"], c["shown"], c["turns"], c["date_from"], c["date_to"],
               c["only_docs"], c["as_of"], c["collection"], c["conversation"],
               c["numbers"]]  # fmt: skip
    chat = [c[name] for name in CHAT]
    sidebar = [c[name] for name in SIDEBAR]
    for trigger in (c["question"].submit, c["send"].click):
        trigger(handlers.respond, chat_in, chat, **PRIVATE).then(
            handlers.history.sidebar, c["conversation"], sidebar, **QUIET
        )
    c["examples"].click(lambda s: s[0], c["examples"], c["question"], **PRIVATE).then(
        handlers.respond, chat_in, chat, **PRIVATE
    ).then(handlers.history.sidebar, c["conversation"], sidebar, **QUIET)
    # The chat's own clear button empties the display; the open conversation closes too.
    c["chatbot"].clear(History.cleared, None, chat, **PRIVATE).then(
        handlers.history.sidebar, c["conversation"], sidebar, **QUIET
    )
    copy_js = "(text) => { if (text) { navigator.clipboard.writeText(text); } return []; }"
    c["copy"].click(None, c["last_answer"], None, js=copy_js, **PRIVATE)
    views = [c["doc_list"], c["to_remove"], c["only_docs"], c["examples"], c["upload_box"],
             c["remove_row"]]  # fmt: skip
    c["collection"].input(handlers.doc_views, c["collection"], views, **PRIVATE)
    c["upload"].upload(handlers.add_files, [c["upload"], c["collection"]],
                       [c["results"], *views, c["upload"]], **PRIVATE)  # fmt: skip
    c["remove"].click(handlers.delete, [c["to_remove"], c["collection"]], views, **PRIVATE)
    loaded = [c["collection"], *views, c["conversations"], c["insights_tab"], c["user"]]
    page.load(handlers.load, None, loaded, **PRIVATE)
    wire_history(handlers.history, c)
    gr.api(handlers.ask, api_name="ask")


def build_ui(ctx: Context) -> gr.Blocks:
    """The chat page, bound to the service in ``ctx``."""
    settings = ctx.settings
    with gr.Blocks(title="citeqa — answers with sources", analytics_enabled=False) as page:
        parts: dict[str, Any] = {
            "shown": gr.State([]),
            "turns": gr.State([]),
            "conversation": gr.State(None),
            "numbers": gr.State({}),
            "last_answer": gr.Textbox(visible=False, elem_id="cq-last-answer"),
        }
        with gr.Row(elem_id="cq-top"):
            gr.HTML(HEADER)
            parts["user"] = gr.HTML(elem_id="cq-user")
        with gr.Tabs(elem_id="cq-tabs"):
            with gr.Tab("Chat", elem_id="cq-chat-tab"), gr.Row(equal_height=False):
                with gr.Column(scale=1, min_width=220, elem_id="cq-sidebar"):
                    parts |= conversation_column()
                with gr.Column(scale=3, min_width=420):
                    parts |= chat_column(settings.max_question_chars)
                with gr.Column(scale=2, min_width=300):
                    parts |= side_column(settings.max_file_mb)
            parts |= insights_tab()
        wire(page, PageHandlers(ctx), parts)
    page.queue(default_concurrency_limit=4)
    return page
