"""The chat page: streaming answers with numbered source cards, saved conversations, thumbs,
a documents panel, filters, an admin insights tab, and an ``/ask`` endpoint for
``gradio_client``. Layout here, behaviour in ``qa.ui.handlers`` (conversations, feedback and
insights in ``qa.ui.history``), HTML in ``qa.ui.render``; everything goes through the one
``Assistant`` and ``People``, as the signed-in user."""

from __future__ import annotations

from typing import Any

import gradio as gr

from qa.documents import SUPPORTED
from qa.http.context import Context
from qa.ui.handlers import PageHandlers
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
    wire_history,
)

HEADER = (
    '<div class="cq-header"><div class="cq-logo">❝</div><div><h1>citeqa</h1>'
    "<p>Answers from your documents. Every sentence is cited; when the documents "
    "don’t hold the answer, it says so.</p></div></div>"
)


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
