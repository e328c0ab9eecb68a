"""Conversation exports: Markdown for people (answers with numbered, dated quotes) and JSON."""

from __future__ import annotations

import re
from typing import Any

from qa.people.records import ConversationView
from qa.types import Answer

_SPECIAL = re.compile(r"([\\`*_<>])")


def _inline(text: str) -> str:
    """One line of literal text: whitespace collapsed, Markdown emphasis and HTML escaped."""
    return _SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _where(title: str, date: str | None, source: str, page: int | None = None) -> str:
    parts = [f"*{_inline(title)}*", date or "undated"]
    if page is not None:
        parts.append(f"p. {page}")
    return ", ".join(parts) + f" ({_inline(source)})"


def _answer_markdown(answer: Answer) -> list[str]:
    lines = [_inline(answer.text), ""]
    if answer.citations:
        for citation in sorted(answer.citations, key=lambda c: c.marker):
            where = _where(citation.title, citation.date, citation.source, citation.page)
            lines.append(f"{citation.marker}. “{_inline(citation.quote)}” — {where}")
        lines.append("")
    elif answer.abstained and answer.sources:
        lines.append("Closest sources:")
        lines += [f"- {_where(s.title, s.date, s.source)}" for s in answer.sources]
        lines.append("")
    return lines


def conversation_markdown(view: ConversationView) -> str:
    """The conversation as a Markdown document, one section per turn."""
    created = view.created_at.strftime("%Y-%m-%d %H:%M UTC")
    collections = ", ".join(view.collections) or "none"
    lines = [
        f"# {_inline(view.title or 'Untitled conversation')}",
        "",
        f"Conversation `{view.id}` by {_inline(view.owner)}, started {created}; "
        f"collections: {_inline(collections)}.",
        "",
    ]
    for turn in view.turns:
        lines += [f"## {turn.number}. {_inline(turn.question)}", ""]
        lines += _answer_markdown(turn.answer)
    return "\n".join(lines).rstrip() + "\n"


def conversation_json(view: ConversationView) -> dict[str, Any]:
    """The conversation with every turn's full Answer; nothing about who is viewing it."""
    data = view.model_dump(mode="json", exclude={"read_only"})
    for turn in data["turns"]:
        turn.pop("rating", None)
    return data
