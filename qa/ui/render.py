"""Pure HTML rendering of answers, source cards, the documents table, upload results, saved
conversations (and the share link's page) and the admins' insights.

Every string that comes from a document (titles, passages, quotes, answers made of them) is
HTML-escaped by ``esc`` before it reaches the page, and chat HTML is written without blank
lines so the Markdown renderer treats it as one HTML block and never re-interprets it.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Any

from qa.people.insights import InsightItem, Insights
from qa.people.records import ConversationView
from qa.types import Answer, Citation, Source

# Characters of passage shown on each side of a highlighted quote.
CONTEXT_CHARS = 240
_MARKER = re.compile(r"\[(\d+)\]")


def esc(text: object) -> str:
    """Escaped text with line breaks as ``<br>``: no raw newline may end the HTML block."""
    return html.escape(str(text), quote=True).replace("\r", "").replace("\n", "<br>")


def _source_label(source: str, url: str | None = None) -> str:
    if url and url.startswith(("http://", "https://")):
        return f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer">{esc(url)}</a>'
    name = source.split("#")[0].replace("\\", "/").rsplit("/", 1)[-1]
    return f"<span>{esc(name or source)}</span>"


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


# --- saved conversations, share links, insights ------------------------------------------


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def conversation_html(view: ConversationView) -> str:
    """Every turn of a saved conversation: the question, then the answer with its cards."""
    turns = "".join(
        f'<section class="cq-turn"><div class="cq-turn-q"><span class="cq-turn-n">{t.number}'
        f"</span>{esc(t.question)}</div>{render_answer(t.answer)}</section>"
        for t in view.turns
    )
    return turns or '<div class="cq-empty">This conversation has no answers yet.</div>'


def shared_document(view: ConversationView | None, theme_css: str, css: str) -> str:
    """The read-only page a share link opens (``None``: the link opens nothing for this user)."""
    if view is None:
        title = "Not found"
        body = (
            '<div class="cq-shared-head"><h1>Not found</h1><p>This link does not exist, was '
            "revoked, or opens documents you may not read.</p></div>"
        )
    else:
        title = view.title or "Shared conversation"
        collections = ", ".join(view.collections) or "none"
        body = (
            f'<div class="cq-shared-head"><h1>{esc(title)}</h1><p>Shared by '
            f"{esc(view.owner)} · started {_when(view.created_at)} · collections: "
            f'{esc(collections)} · <span class="cq-badge">read-only</span></p></div>'
            f"{conversation_html(view)}"
        )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} · citeqa</title><style>{theme_css}{css}{SHARED_CSS}</style>"
        f'</head><body><main class="cq-shared"><div class="cq-header"><div class="cq-logo">❝'
        f'</div><div><h1>citeqa</h1></div></div>{body}<p class="cq-shared-foot">'
        '<a href="/">Ask your own questions</a></p></main></body></html>'
    )


SHARED_CSS = """
body { margin: 0; background: var(--neutral-50); color: var(--body-text-color);
  font-family: var(--font); }
.cq-shared { max-width: 860px; margin: 0 auto; padding: 24px 20px 48px; }
.cq-shared-head h1 { font-size: 1.35rem; margin: 18px 0 4px; }
.cq-shared-head p, .cq-shared-foot { color: var(--body-text-color-subdued); font-size: 0.9rem; }
.cq-turn { background: var(--background-fill-primary); border-radius: 14px; padding: 16px 18px;
  margin: 14px 0; border: 1px solid var(--border-color-primary); }
.cq-turn-q { display: flex; gap: 10px; align-items: baseline; font-weight: 600;
  margin-bottom: 10px; }
.cq-turn-n { flex: none; font-size: 0.75rem; color: var(--primary-700);
  background: var(--primary-100); border-radius: 999px; padding: 1px 8px; }
.cq-shared a { color: var(--primary-600); }
"""


def _bars(weeks: dict[str, int]) -> str:
    """Counts per week as a row of bars, highest = full height."""
    if not weeks:
        return ""
    top = max(weeks.values())
    bars = "".join(
        f'<div class="cq-bar" title="week of {esc(week)}: {count}">'
        f'<span style="height:{max(8, round(100 * count / top))}%"></span>'
        f"<small>{esc(week[5:])}</small></div>"
        for week, count in weeks.items()
    )
    return f'<div class="cq-bars">{bars}</div>'


def _insight_item(item: InsightItem) -> str:
    badges = '<span class="cq-badge cq-refused">refused</span>' if item.refused else ""
    if item.thumbs_down:
        badges += f'<span class="cq-badge cq-down">thumbs-down ×{item.thumbs_down}</span>'
    badges += "".join(f'<span class="cq-badge">{esc(r.replace("_", " "))}</span>'
                      for r in item.reasons)  # fmt: skip
    corrections = "".join(
        f'<div class="cq-correction">Correction: {esc(c)}</div>' for c in item.corrections
    )
    return (
        f'<li><div class="cq-insight-q">{esc(item.question)}</div><div class="cq-meta">'
        f"{badges} {esc(item.user)} · {_when(item.created_at)} · {esc(item.collection or '—')}"
        f"</div>{corrections}</li>"
    )


def insights_html(report: Insights) -> str:
    """The admin view: totals per week, then each group with its questions."""
    if not report.total:
        return '<div class="cq-empty">No refused or thumbed-down answers yet.</div>'
    groups = "".join(
        f'<details class="cq-group" {"open" if n < 3 else ""}><summary><span class="cq-count">'
        f'{g.count}</span><span class="cq-group-label">{esc(g.label)}</span>'
        f'<span class="cq-meta">{"nearest document" if g.by == "document" else "similar questions"}'
        f" · {g.refused} refused · {g.thumbs_down} thumbs-down</span></summary>{_bars(g.weeks)}"
        f'<ul class="cq-insight-items">{"".join(_insight_item(i) for i in g.items)}</ul></details>'
        for n, g in enumerate(report.groups)
    )
    return (
        f'<div class="cq-insights"><div class="cq-insights-head"><b>{report.total}</b> refused '
        f"or thumbed-down answers in {len(report.groups)} group"
        f"{'' if len(report.groups) == 1 else 's'}, per week:</div>"
        f"{_bars(report.weeks)}{groups}</div>"
    )
