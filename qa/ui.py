"""The Gradio chat page: streaming answers with numbered source cards, a documents panel,
filters, and a ``/ask`` endpoint for ``gradio_client``.

Every string that comes from a document (titles, passages, quotes, answers made of them) is
HTML-escaped here before it reaches the page, and chat HTML is written without blank lines
so the Markdown renderer treats it as one HTML block and never re-interprets document text.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from qa.api import ApiError, Context, check_question, ingest_uploads, remove_document
from qa.chain import AnswerEvent, SourcesEvent, TokenEvent
from qa.documents import SUPPORTED, iso_date
from qa.types import Answer, Citation, Filters, IngestResult, Source, Turn

log = logging.getLogger(__name__)
# Characters of passage shown on each side of a highlighted quote.
CONTEXT_CHARS = 240
HISTORY_TURNS = 8
_MARKER = re.compile(r"\[(\d+)\]")


# --- rendering ----------------------------------------------------------------------------


def esc(text: object) -> str:
    """Escaped text with line breaks as ``<br>``: no raw newline may end the HTML block."""
    return html.escape(str(text), quote=True).replace("\r", "").replace("\n", "<br>")


def _source_label(source: str, url: str | None = None) -> str:
    if url and url.startswith(("http://", "https://")):
        return f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer">{esc(url)}</a>'
    name = source.split("#")[0].replace("\\", "/").rsplit("/", 1)[-1]
    return f'<span title="{esc(source)}">{esc(name or source)}</span>'


def _trim(text: str, keep: int, from_end: bool) -> str:
    """At most ``keep`` characters, cut at a space, with an ellipsis where text was cut."""
    if len(text) <= keep:
        return text
    if from_end:
        cut = text[-keep:]
        return "…" + cut[cut.find(" ") + 1 :] if " " in cut else "…" + cut
    cut = text[:keep]
    return (cut[: cut.rfind(" ")] if " " in cut else cut) + "…"


def highlight(passage: str, start: int, end: int) -> str:
    """The passage around ``passage[start:end]``, with that span marked."""
    before = _trim(passage[:start], CONTEXT_CHARS, from_end=True)
    after = _trim(passage[end:], CONTEXT_CHARS, from_end=False)
    return f"{esc(before)}<mark>{esc(passage[start:end])}</mark>{esc(after)}"


def quote_in_source(citation: Citation, sources: list[Source]) -> str:
    """The cited sentence highlighted inside the passage it was retrieved in."""
    for source in sources:
        if source.chunk_id != citation.chunk_id:
            continue
        offset = citation.start - source.start
        if source.text[offset : offset + len(citation.quote)] != citation.quote:
            offset = source.text.find(citation.quote)
        if offset >= 0:
            return highlight(source.text, offset, offset + len(citation.quote))
    return f"<mark>{esc(citation.quote)}</mark>"


def _meta(date: str | None, source: str, page: int | None = None) -> str:
    parts = [esc(date) if date else "undated", _source_label(source)]
    if page is not None:
        parts.append(f"page {page}")
    return '<div class="cq-meta">' + " · ".join(parts) + "</div>"


def citation_card(citation: Citation, sources: list[Source]) -> str:
    return (
        f'<div class="cq-card" data-marker="{citation.marker}">'
        f'<div class="cq-card-head"><span class="cq-num">{citation.marker}</span>'
        f'<span class="cq-title">{esc(citation.title)}</span></div>'
        f"{_meta(citation.date, citation.source, citation.page)}"
        f'<div class="cq-passage">{quote_in_source(citation, sources)}</div></div>'
    )


def source_card(source: Source) -> str:
    return (
        f'<div class="cq-card cq-near"><div class="cq-card-head">'
        f'<span class="cq-title">{esc(source.title)}</span></div>'
        f"{_meta(source.date, source.source)}"
        f'<div class="cq-passage">{esc(_trim(source.text, 2 * CONTEXT_CHARS, False))}</div></div>'
    )


def answer_text(text: str) -> str:
    """Escaped answer text with its ``[n]`` markers styled to match the cards."""
    return _MARKER.sub(r'<span class="cq-ref">[\1]</span>', esc(text))


def render_answer(answer: Answer) -> str:
    """The answer, then its citations as numbered cards (or the closest passages)."""
    if answer.abstained:
        body = f'<div class="cq-answer cq-abstained">{esc(answer.text)}</div>'
        near = "".join(source_card(s) for s in answer.sources[:3])
        if near:
            body += (
                '<details class="cq-sources"><summary>Closest passages (none answers the '
                f"question)</summary>{near}</details>"
            )
        return body
    cards = "".join(citation_card(c, answer.sources) for c in answer.citations)
    return (
        f'<div class="cq-answer">{answer_text(answer.text)}</div>'
        f'<div class="cq-sources"><div class="cq-sources-title">Sources</div>{cards}</div>'
    )


def render_pending(text: str) -> str:
    return f'<div class="cq-answer cq-pending">{esc(text)}<span class="cq-cursor"></span></div>'


def render_error(message: str) -> str:
    return f'<div class="cq-answer cq-error">{esc(message)}</div>'


def user_message(question: str) -> dict[str, str]:
    return {"role": "user", "content": f'<div class="cq-question">{esc(question)}</div>'}


def documents_table(docs: list[dict[str, Any]]) -> str:
    if not docs:
        return '<div class="cq-empty">No documents yet: upload some above.</div>'
    rows = "".join(
        f'<tr><td class="cq-doc-title">{esc(d.get("title") or d["doc_id"])}'
        f'<div class="cq-doc-id">{esc(d["doc_id"])}</div></td>'
        f'<td class="cq-nowrap">{esc(d.get("date") or "—")}</td>'
        f"<td>{esc(d.get('n_chunks') or 0)}</td></tr>"
        for d in docs
    )
    return (
        f'<table class="cq-docs"><thead><tr><th>Document</th><th>Date</th><th>Chunks</th>'
        f"</tr></thead><tbody>{rows}</tbody></table>"
    )


def upload_results(results: list[dict[str, Any]]) -> str:
    items = "".join(
        f'<li class="cq-result cq-{esc(r["status"])}"><span class="cq-badge">'
        f"{esc(r['status'])}</span> {esc(r['filename'])}"
        + (f" — {r['chunks']} chunk{'s' if r['chunks'] != 1 else ''}" if r.get("chunks") else "")
        + (f'<div class="cq-reason">{esc(r["reason"])}</div>' if r.get("reason") else "")
        + "</li>"
        for r in results
    )
    return f'<ul class="cq-results">{items}</ul>'


def example_questions(docs: list[dict[str, Any]]) -> list[list[str]]:
    """A question per recent document, built from its title."""
    titles = [str(d.get("title") or "").strip() for d in docs]
    return [[f"What does “{t[:70]}” report?"] for t in titles if t][:4]


# --- the page -----------------------------------------------------------------------------


def _filters(date_from: str | None, date_to: str | None, doc_ids: list[str] | None) -> Filters:
    dates = []
    for label, value in (("From", date_from), ("To", date_to)):
        parsed = iso_date(str(value)) if value else None
        if value and parsed is None:
            raise gr.Error(f"{label} date {value!r} is not a date (YYYY-MM-DD)")
        dates.append(parsed)
    return Filters(date_from=dates[0], date_to=dates[1], doc_ids=doc_ids or None)


def build_ui(ctx: Context) -> gr.Blocks:
    """The chat page, bound to the service in ``ctx``."""
    assistant, settings = ctx.assistant, ctx.settings

    def doc_views() -> tuple[str, Any, Any, Any]:
        docs = assistant.documents()
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
        question: str,
        shown: list[dict[str, Any]],
        turns: list[dict[str, str]],
        date_from: str | None,
        date_to: str | None,
        doc_ids: list[str] | None,
    ) -> Iterator[tuple[Any, ...]]:
        try:
            question = check_question(question or "", settings)
        except ApiError as exc:
            gr.Warning(exc.message)
            yield shown, shown, turns, question, gr.skip()
            return
        filters = _filters(date_from, date_to, doc_ids)
        history = [Turn.model_validate(t) for t in turns[-HISTORY_TURNS:]]
        pending = render_pending("Searching the documents…")
        shown = [*shown, user_message(question), {"role": "assistant", "content": pending}]
        yield shown, shown, turns, "", gr.skip()
        streamed = ""
        try:
            for event in assistant.stream(question, history, filters):
                if isinstance(event, SourcesEvent):
                    status = f"Reading {len(event.sources)} passages…"
                    shown[-1]["content"] = render_pending(status)
                elif isinstance(event, TokenEvent):
                    streamed += event.text
                    shown[-1]["content"] = render_pending(streamed)
                elif isinstance(event, AnswerEvent):
                    answer = event.answer
                    ctx.metrics.observe_answer(answer, "ui")
                    shown[-1]["content"] = render_answer(answer)
                    turns = [
                        *turns,
                        {"role": "user", "content": question},
                        {"role": "assistant", "content": answer.text},
                    ]
                    yield shown, shown, turns, "", answer.text
                    return
                yield shown, shown, turns, "", gr.skip()
        except Exception as exc:  # said in the chat, where the user is looking
            log.exception("answering failed")
            shown[-1]["content"] = render_error(f"Answering failed: {exc}")
            # The question goes back into the box, to try again.
            yield shown, shown, turns, question, gr.skip()

    def add_files(
        paths: list[str] | None,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio injects it by default)
    ) -> tuple[Any, ...]:
        if not paths:
            return (gr.skip(), *doc_views(), None)
        progress(0, desc="Saving")

        def advance(result: IngestResult, done: int, total: int) -> None:
            progress((done, total), desc=f"Ingesting {Path(result.path).name}")

        handles = [(Path(p).name, open(p, "rb")) for p in paths]  # noqa: SIM115
        try:
            results = ingest_uploads(ctx, handles, settings.collection, advance)
        except ApiError as exc:
            raise gr.Error(exc.message) from exc
        finally:
            for _, handle in handles:
                handle.close()
        return (upload_results([r.model_dump() for r in results]), *doc_views(), None)

    def delete(doc_id: str | None) -> tuple[Any, ...]:
        if not doc_id:
            raise gr.Error("Pick a document to remove first.")
        if not remove_document(ctx, doc_id, settings.collection):
            raise gr.Error(f"No document {doc_id!r}: it may already be gone.")
        gr.Info("Document removed.")
        return doc_views()

    def ask(
        question: str,
        history: list[dict[str, str]] | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        doc_ids: list[str] | None = None,
    ) -> dict[str, Any]:
        """Answer a question from the documents. Returns the Answer as JSON: text with [n]
        markers, citations (quote, document, offsets), sources, timings."""
        try:
            text = check_question(question, settings)
        except ApiError as exc:
            raise gr.Error(exc.message) from exc
        turns = [Turn.model_validate(t) for t in history or []]
        answer = assistant.ask(text, turns, _filters(date_from, date_to, doc_ids))
        ctx.metrics.observe_answer(answer, "gradio")
        return answer.model_dump(mode="json")

    with gr.Blocks(title="citeqa — answers with sources", analytics_enabled=False) as page:
        shown = gr.State([])
        turns = gr.State([])
        last_answer = gr.Textbox(visible=False, elem_id="cq-last-answer")
        gr.HTML(
            '<div class="cq-header"><div class="cq-logo">❝</div><div><h1>citeqa</h1>'
            "<p>Answers from your documents. Every sentence is cited; when the documents "
            "don’t hold the answer, it says so.</p></div></div>"
        )
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=420):
                chatbot = gr.Chatbot(
                    elem_id="cq-chat",
                    show_label=False,
                    height=560,
                    buttons=[],
                    feedback_options=None,
                    latex_delimiters=[],
                    placeholder="<div class='cq-placeholder'>Ask a question about your "
                    "documents. Answers quote their sources.</div>",
                )
                with gr.Row(elem_id="cq-ask-row"):
                    question = gr.Textbox(
                        placeholder="Ask a question…",
                        show_label=False,
                        container=False,
                        scale=8,
                        max_length=settings.max_question_chars,
                        elem_id="cq-question",
                        autofocus=True,
                    )
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="cq-send")
                with gr.Row():
                    new_chat = gr.Button("New conversation", size="sm", elem_id="cq-new")
                    copy = gr.Button("Copy answer", size="sm", elem_id="cq-copy")
                examples = gr.Dataset(
                    components=[question],
                    samples=[],
                    label="Try asking",
                    visible=False,
                    elem_id="cq-examples",
                )
            with gr.Column(scale=2, min_width=320):
                with gr.Accordion("Documents", open=True, elem_id="cq-documents"):
                    gr.Markdown(
                        f"Upload {', '.join(s.lstrip('.') for s in SUPPORTED)} files, "
                        f"up to {settings.max_file_mb:g} MB each.",
                        elem_classes="cq-hint",
                    )
                    upload = gr.File(
                        label="Add documents",
                        file_count="multiple",
                        file_types=list(SUPPORTED),
                        elem_id="cq-upload",
                        height=120,
                    )
                    results = gr.HTML(elem_id="cq-upload-results")
                    doc_list = gr.HTML(elem_id="cq-doc-list")
                    with gr.Row(elem_id="cq-remove-row"):
                        to_remove = gr.Dropdown(
                            label="Remove a document", scale=3, elem_id="cq-remove-pick"
                        )
                        remove = gr.Button("Remove", variant="stop", scale=1, size="sm")
                with gr.Accordion("Filters", open=False, elem_id="cq-filters"):
                    date_from = gr.DateTime(label="From", include_time=False, type="string")
                    date_to = gr.DateTime(label="To", include_time=False, type="string")
                    only_docs = gr.Dropdown(
                        label="Only these documents", multiselect=True, elem_id="cq-only-docs"
                    )

        chat_in = [question, shown, turns, date_from, date_to, only_docs]
        chat_out = [chatbot, shown, turns, question, last_answer]
        for trigger in (question.submit, send.click):
            trigger(respond, chat_in, chat_out, api_visibility="private")
        examples.click(lambda sample: sample[0], examples, question, api_visibility="private").then(
            respond, chat_in, chat_out, api_visibility="private"
        )
        new_chat.click(
            lambda: ([], [], [], "", ""),
            None,
            [chatbot, shown, turns, question, last_answer],
            api_visibility="private",
        )
        # The chat's own clear button empties the display; the conversation must go too.
        chatbot.clear(
            lambda: ([], [], ""), None, [shown, turns, last_answer], api_visibility="private"
        )
        copy.click(
            None,
            last_answer,
            None,
            js="(text) => { if (text) { navigator.clipboard.writeText(text); } return []; }",
            api_visibility="private",
        )
        views = [doc_list, to_remove, only_docs, examples]
        upload.upload(add_files, upload, [results, *views, upload], api_visibility="private")
        remove.click(delete, to_remove, views, api_visibility="private")
        page.load(doc_views, None, views, api_visibility="private")
        gr.api(ask, api_name="ask")
    page.queue(default_concurrency_limit=4)
    return page
