"""Continuing a saved conversation: the history a new question is answered with, and saving
the answered turn. Shared by ``/v1/ask``, the page and ``citeqa chat --resume``, so all three
continue conversations, and save answers, the same way.
"""

from __future__ import annotations

from collections.abc import Iterable

from qa.http.context import Context
from qa.http.public import public_answer
from qa.people.identity import User
from qa.people.records import TurnRecord
from qa.people.saving import PendingTurn
from qa.types import Answer, Turn


def bounded(messages: list[Turn], max_turns: int, max_chars: int) -> list[Turn]:
    """The newest messages that fit the history limits, oldest first; a stored conversation
    may be longer than a request may carry, and the newest turns matter most to a follow-up."""
    kept: list[Turn] = []
    chars = 0
    for message in reversed(messages):
        if len(kept) == max_turns or chars + len(message.content) > max_chars:
            break
        kept.append(message)
        chars += len(message.content)
    kept.reverse()
    # A history starts with a question: a leading answer without its question confuses the
    # condensing of the follow-up.
    while kept and kept[0].role != "user":
        kept.pop(0)
    return kept


def conversation_history(
    ctx: Context, user: User, conversation_id: str, sent: list[Turn]
) -> list[Turn]:
    """The history to answer with: ``sent`` if the request has one, else the stored turns.

    Raises NotFound for a conversation the user cannot see, Forbidden for one shared with
    them (read-only), before any answering work is done.
    """
    settings = ctx.settings
    # Two messages a turn: the newest turns that may fit the history limits.
    limit = 0 if sent else (settings.max_history_turns + 1) // 2
    turns = ctx.people.conversations.recent_turns(user, conversation_id, limit)
    if sent:
        return sent
    return bounded(messages_of(turns), settings.max_history_turns, settings.max_history_chars)


def messages_of(turns: Iterable[TurnRecord]) -> list[Turn]:
    """The saved turns as chat history: each question, then its answer with the sentences it
    cited (a follow-up is resolved with them)."""
    messages: list[Turn] = []
    for turn in turns:
        messages.append(Turn(role="user", content=turn.question))
        messages.append(Turn.reply(turn.answer))
    return messages


def save_turn(
    ctx: Context, user: User, conversation_id: str, answer: Answer, collection: str
) -> TurnRecord:
    """Append the answered question to the user's conversation, as clients see the answer
    (sources named by file, not by the server's path)."""
    conversations = ctx.people.conversations
    return conversations.append_turn(user, conversation_id, public_answer(answer), collection)


def begin_turn(
    ctx: Context, user: User, conversation_id: str, question: str, collection: str
) -> PendingTurn:
    """Reserve the turn of a question about to be answered: its writes run beside the
    answering. ``PendingTurn.finish`` saves the answer (as clients see it: pass it through
    ``public_answer``), ``PendingTurn.cancel`` gives the turn up."""
    return ctx.people.conversations.begin_turn(user, conversation_id, question, collection)


def turn_headers(
    conversation_id: str, turn: TurnRecord, timings: dict[str, float]
) -> dict[str, str]:
    """The saved turn's place, and ``timings`` (seconds) as the standard ``Server-Timing``
    header in ms (bench/serve.py reads it)."""
    return {
        "X-Conversation-Id": conversation_id,
        "X-Conversation-Turn": str(turn.number),
        "Server-Timing": ", ".join(f"{k};dur={1000 * v:.2f}" for k, v in timings.items()),
    }
