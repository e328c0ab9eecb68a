"""The page's saved conversations, feedback and insights: layout parts and their handlers.

Every handler acts as the signed-in user, read from the HTTP request Gradio hands it
(``page_user``): the auth gate resolved that user into the ASGI scope of the request that
carried the event (the queue's join request for queued events), so the page needs no
login of its own and cannot act as anyone else.
"""

from __future__ import annotations

from contextlib import suppress
from functools import lru_cache
from typing import Any

import gradio as gr

from qa.http.context import Context
from qa.http.turns import messages_of, save_turn
from qa.people.identity import User
from qa.people.records import ConversationView, FeedbackIn, Forbidden, NotFound
from qa.types import Answer
from qa.ui.render import esc, insights_html, render_answer, shared_document, user_message

REASONS = [
    ("Wrong", "wrong"),
    ("Not in the documents", "not_in_documents"),
    ("Incomplete", "incomplete"),
    ("Outdated", "outdated"),
    ("Bad citation", "bad_citation"),
]
# The chatbot's thumbs: these two option names render as thumb icons.
LIKE, DISLIKE = "Like", "Dislike"
LABEL_CHARS = 60
PRIVATE: dict[str, Any] = {"api_visibility": "private"}
# The conversation list refreshes after every answer (and a rename): no "processing"
# overlay flashes over it.
QUIET: dict[str, Any] = {**PRIVATE, "show_progress": "hidden"}
# The page parts a chat event updates, and those that show the open conversation's place.
CHAT = ("chatbot", "shown", "turns", "question", "last_answer", "conversation", "numbers")
SIDEBAR = ("conversations", "title", "export", "actions", "share_link")


def page_user(request: gr.Request | None) -> User:
    """The user the auth gate let in for this event's HTTP request."""
    inner = request.request if request is not None else None
    name = inner.scope.get("state", {}).get("user") if inner is not None else None
    if not name:  # never guess: acting as the wrong user would leak their conversations
        raise gr.Error("You are not signed in: reload the page.")
    return User(name=str(name))


@lru_cache(maxsize=1)
def _theme_css() -> str:
    from qa.ui.theme import THEME

    # The theme's CSS variables, so the share page matches the chat page without Gradio.
    return str(THEME._get_theme_css())


def shared_page(view: ConversationView | None) -> str:
    """The HTML page a share link opens; ``None`` renders the not-found page."""
    from qa.ui.theme import CSS

    return shared_document(view, _theme_css(), CSS)


Messages = list[dict[str, Any]]


def chat_of(view: ConversationView) -> tuple[Messages, Messages, dict[int, int], list[str | None]]:
    """A saved conversation as the page shows it: (chat messages, history turns, message
    index -> turn number, the viewer's thumbs per answer)."""
    shown: Messages = []
    numbers: dict[int, int] = {}
    thumbs: list[str | None] = []
    for turn in view.turns:
        shown.append(user_message(turn.question))
        numbers[len(shown)] = turn.number
        shown.append({"role": "assistant", "content": render_answer(turn.answer)})
        thumbs.append({"up": LIKE, "down": DISLIKE}.get(turn.rating or ""))
    turns: Messages = [message.model_dump() for message in messages_of(view.turns)]
    return shown, turns, numbers, thumbs


def export_links(conversation: str | None) -> str:
    if not conversation:
        return ""
    base = f"/v1/conversations/{esc(conversation)}/export?format="
    return (
        f'<div class="cq-export">Export: <a href="{base}md" download>Markdown</a> · '
        f'<a href="{base}json" download>JSON</a></div>'
    )


class History:
    """Handlers for the conversation list, sharing, feedback and insights."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.store = ctx.people.conversations

    # --- the conversation list ------------------------------------------------------------

    def listing(self, user: User, selected: str | None) -> Any:
        """The user's conversations, newest first, titled by their first question."""
        choices = []
        for info in self.store.list_for(user):
            title = info.title or "Untitled conversation"
            label = title if len(title) <= LABEL_CHARS else title[: LABEL_CHARS - 1] + "…"
            choices.append((label, info.id))
        ids = {value for _, value in choices}
        return gr.Radio(choices=choices, value=selected if selected in ids else None)

    def save(
        self, user: User, conversation: str | None, answer: Answer, collection: str
    ) -> tuple[str, int]:
        """Append the answer to the open conversation (made on the first question)."""
        if conversation is None:
            conversation = self.store.create(user).id
        turn = save_turn(self.ctx, user, conversation, answer, collection)
        return conversation, turn.number

    def sidebar(self, conversation: str | None, request: gr.Request) -> tuple[Any, ...]:
        """The list with the open conversation selected, and its actions."""
        user = page_user(request)
        title = ""
        if conversation:
            try:
                title = self.store.get(user, conversation).title or ""
            except NotFound:
                conversation = None
        return (
            self.listing(user, conversation),
            gr.Textbox(value=title),
            export_links(conversation),
            gr.Group(visible=conversation is not None),
            gr.Textbox(value="", visible=False),
        )

    def open(self, conversation: str | None, request: gr.Request) -> tuple[Any, ...]:
        """Reopen a saved conversation with its answers and source cards (the CHAT outputs)."""
        if not conversation:
            return (gr.skip(),) * len(CHAT)
        try:
            view = self.store.get(page_user(request), conversation)
        except NotFound:
            raise gr.Error("That conversation is gone (deleted in another window?).") from None
        shown, turns, numbers, thumbs = chat_of(view)
        last = view.turns[-1].answer.text if view.turns else ""
        chatbot = gr.Chatbot(value=shown, feedback_value=thumbs)  # type: ignore[arg-type]
        return chatbot, shown, turns, gr.skip(), last, conversation, numbers

    @staticmethod
    def cleared() -> tuple[Any, ...]:
        """An empty chat and no open conversation (the CHAT outputs)."""
        chatbot = gr.Chatbot(value=[], feedback_value=[])  # no thumbs left from the last one
        return chatbot, [], [], "", "", None, {}

    def rename(self, conversation: str | None, title: str, request: gr.Request) -> Any:
        if not conversation:
            raise gr.Error("Ask a question first: there is no conversation to rename.")
        user = page_user(request)
        try:
            self.store.rename(user, conversation, title)
        except (NotFound, ValueError) as exc:
            raise gr.Error(f"Could not rename it: {exc}") from None
        return self.listing(user, conversation)

    def delete(self, conversation: str | None, request: gr.Request) -> tuple[Any, ...]:
        """Delete the open conversation (after the page asked to confirm) and clear the chat."""
        if not conversation:  # the confirmation was cancelled
            return (gr.skip(),) * len(CHAT)
        with suppress(NotFound):  # already gone: the page catches up
            self.store.delete(page_user(request), conversation)
        gr.Info("Conversation deleted.")
        return self.cleared()

    def share(self, conversation: str | None, request: gr.Request) -> Any:
        if not conversation:
            raise gr.Error("Ask a question first: there is nothing to share yet.")
        try:
            token = self.store.share(page_user(request), conversation).token
        except NotFound:
            raise gr.Error("That conversation is gone.") from None
        base = str(request.request.base_url).rstrip("/") if request.request else ""
        return gr.Textbox(value=f"{base}/shared/{token}", visible=True)

    # --- feedback -------------------------------------------------------------------------

    def like(
        self,
        conversation: str | None,
        numbers: dict[int, int],
        data: gr.LikeData,
        request: gr.Request,
    ) -> tuple[Any, ...]:
        """A thumb on an answer is saved at once; a thumbs-down opens the reason form."""
        number = numbers.get(data.index) if isinstance(data.index, int) else None
        if conversation is None or number is None or not isinstance(data.liked, bool):
            gr.Warning("This answer was not saved, so it cannot be rated.")
            return gr.skip(), None
        rating = "up" if data.liked else "down"
        self._rate(request, FeedbackIn(conversation_id=conversation, turn=number, rating=rating))
        if data.liked:
            gr.Info("Thanks for the feedback.")
            return gr.Group(visible=False), None
        return gr.Group(visible=True), number

    def send_feedback(
        self,
        conversation: str | None,
        number: int | None,
        reason: str | None,
        correction: str | None,
        request: gr.Request,
    ) -> tuple[Any, ...]:
        """The thumbs-down's reason and correction (they replace the bare thumbs-down)."""
        if conversation is None or number is None:
            return gr.Group(visible=False), None, None, ""
        feedback = FeedbackIn(
            conversation_id=conversation,
            turn=number,
            rating="down",
            reason=reason or None,
            correction=(correction or "").strip() or None,
        )
        self._rate(request, feedback)
        gr.Info("Thanks: your report helps us test the next version.")
        return gr.Group(visible=False), None, None, ""

    def _rate(self, request: gr.Request, feedback: FeedbackIn) -> None:
        try:
            self.store.add_feedback(page_user(request), feedback)
        except NotFound:
            raise gr.Error("That answer is gone (the conversation was deleted).") from None

    # --- insights -------------------------------------------------------------------------

    def is_admin(self, request: gr.Request) -> bool:
        return self.ctx.people.policy.is_admin(page_user(request))

    def insights(self, request: gr.Request) -> str:
        try:
            report = self.ctx.people.insights(
                page_user(request), self.ctx.assistant.embeddings.embed_documents
            )
        except Forbidden:
            raise gr.Error("Insights are for admins.") from None
        return insights_html(report)


def conversation_column() -> dict[str, Any]:
    """The conversation list, the open conversation's actions, and a new-conversation button."""
    parts: dict[str, Any] = {}
    parts["new_chat"] = gr.Button("+ New conversation", size="sm", elem_id="cq-new")
    gr.HTML('<div class="cq-side-title">Conversations</div>')
    parts["conversations"] = gr.Radio(
        label="Conversations", choices=[], elem_id="cq-conversations", container=False
    )
    gr.HTML(
        '<div class="cq-side-empty">Your questions are saved here: reopen, rename, share.</div>',
        elem_id="cq-no-conversations",
    )
    with gr.Group(visible=False, elem_id="cq-actions") as parts["actions"]:
        parts["title"] = gr.Textbox(label="Title", max_lines=1, elem_id="cq-title", max_length=200)
        with gr.Row():
            parts["rename"] = gr.Button("Rename", size="sm", elem_id="cq-rename")
            parts["share"] = gr.Button("Share", size="sm", elem_id="cq-share")
            parts["delete"] = gr.Button("Delete", size="sm", variant="stop", elem_id="cq-delete")
        parts["share_link"] = gr.Textbox(
            label="Read-only link for users who may read its collections",
            visible=False, interactive=False, buttons=["copy"], elem_id="cq-share-link",
        )  # fmt: skip
        parts["export"] = gr.HTML(elem_id="cq-export")
    return parts


def feedback_panel() -> dict[str, Any]:
    """The form a thumbs-down opens: what was wrong, and what the answer should have said."""
    parts: dict[str, Any] = {"pending": gr.State(None)}
    with gr.Group(visible=False, elem_id="cq-feedback") as parts["feedback"]:
        parts["reason"] = gr.Radio(
            REASONS, label="What was wrong with this answer?", elem_id="cq-reason"
        )
        parts["correction"] = gr.Textbox(
            label="What should it have said? (optional)", lines=2, max_length=5000,
            elem_id="cq-correction",
        )  # fmt: skip
        with gr.Row():
            parts["send_feedback"] = gr.Button(
                "Send", size="sm", variant="primary", elem_id="cq-send-feedback"
            )
            parts["skip_feedback"] = gr.Button("Not now", size="sm", elem_id="cq-skip-feedback")
    return parts


def insights_tab() -> dict[str, Any]:
    parts: dict[str, Any] = {}
    with gr.Tab("Insights", visible=False, elem_id="cq-insights-tab") as parts["insights_tab"]:
        gr.HTML(
            "<p class='cq-hint'>What the documents fail to answer: refused questions and "
            "thumbs-down of every user, grouped by their nearest document or by similar "
            "questions. <a href='/v1/insights?format=csv' download>Download CSV</a></p>"
        )
        parts["refresh"] = gr.Button(
            "Refresh", size="sm", elem_id="cq-insights-refresh", scale=0, min_width=100
        )
        parts["insights"] = gr.HTML(elem_id="cq-insights")
    return parts


def wire_history(history: History, c: dict[str, Any]) -> None:
    """Connect the conversation list, its actions, the thumbs and the insights tab."""
    chat = [c[name] for name in CHAT]
    sidebar = [c[name] for name in SIDEBAR]

    def then_sidebar(event: Any) -> None:
        event.then(history.sidebar, c["conversation"], sidebar, **QUIET)

    then_sidebar(c["conversations"].input(history.open, c["conversations"], chat, **PRIVATE))
    then_sidebar(c["new_chat"].click(history.cleared, None, chat, **PRIVATE))
    confirm = "(id) => (id && confirm('Delete this conversation for good?')) ? id : null"
    then_sidebar(c["delete"].click(history.delete, c["conversation"], chat, js=confirm, **PRIVATE))
    c["rename"].click(history.rename, [c["conversation"], c["title"]], c["conversations"],
                      **QUIET)  # fmt: skip
    c["share"].click(history.share, c["conversation"], c["share_link"], **PRIVATE)
    rated = [c["feedback"], c["pending"]]
    c["chatbot"].like(history.like, [c["conversation"], c["numbers"]], rated, **PRIVATE)
    c["send_feedback"].click(
        history.send_feedback,
        [c["conversation"], c["pending"], c["reason"], c["correction"]],
        [c["feedback"], c["pending"], c["reason"], c["correction"]],
        **PRIVATE,
    )
    c["skip_feedback"].click(lambda: (gr.Group(visible=False), None), None, rated, **PRIVATE)
    # Computed when looked at, not on every page load.
    for trigger in (c["refresh"].click, c["insights_tab"].select):
        trigger(history.insights, None, c["insights"], **PRIVATE)
