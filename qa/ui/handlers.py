"""What the chat page's events do: a question streamed into the chat and saved, the
``/ask`` endpoint, the documents panel (upload, remove) and the filters; everything goes through
the one ``Assistant`` as the signed-in user (conversations, feedback and insights are in
``qa.ui.history``)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import gradio as gr

from qa.chain_io import AnswerEvent, SourcesEvent, TokenEvent
from qa.http.context import Context
from qa.http.public import public_answer
from qa.http.turns import bounded
from qa.people.identity import User
from qa.people.records import Forbidden
from qa.service import InvalidRequest, UnknownCollection
from qa.types import Answer, Filters, IngestResult, Turn, parse_as_of
from qa.ui.history import History, page_user
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
