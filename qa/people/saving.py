"""Saving answered turns: numbering them, and writing them beside the answering.

Turn numbers come from ``conversations.turn_count``. The first append of a conversation
(and the first with a new collection) in a process increments it in a write transaction that
also titles the conversation and lists the collection: the UPDATE holds the row lock on
PostgreSQL (a concurrent append waits, then sees the new count) and SQLite's write lock
(``BEGIN IMMEDIATE``). Later appends need neither title nor collection, so they are one
statement that is its own transaction (no BEGIN/COMMIT round trips): on PostgreSQL a CTE
whose UPDATE takes the same row lock, on SQLite ``INSERT ... SELECT turn_count + 1`` under
the write lock the statement holds, with migration 0002's trigger advancing the count. Either
way appends from several processes are serialized per conversation: no number is lost or
handed out twice. The unique (conversation, number) constraint backs this up.

A question answered for a conversation through the API is saved in two writes that both run
on the writer thread (:mod:`qa.people.writer`), beside the answering rather than after it:
``begin`` reserves the turn (its number, its question, the answer ``PENDING``) while the
answer is being worked out, and ``PendingTurn.finish`` hands the answer over to be written
and returns at once with the turn's number. How reads treat a ``PENDING`` turn:
:mod:`qa.people.store`.
"""

from __future__ import annotations

import math
from concurrent.futures import Future
from typing import Any

from sqlalchemy import Boolean, bindparam, delete, func, insert, text, update

from qa.people.access import Policy
from qa.people.db import Database
from qa.people.identity import User
from qa.people.models import Base, Conversation, JSONDoc, Turn, UTCDateTime, utcnow
from qa.people.records import MAX_TITLE, Forbidden, NotFound, TurnRecord
from qa.people.writer import Writer
from qa.types import Answer

C, T = Conversation, Turn

# The two statements of every saved answer, built once on the tables: building an ORM
# statement and its cache key per call cost about as much CPU as running it (profiled).
_conversations, _turns = Base.metadata.tables["conversations"], Base.metadata.tables["turns"]
_conv = _conversations.c
_COUNT_TURN = (
    update(_conversations)
    .where(_conv.id == bindparam("b_id"), _conv.owner == bindparam("b_owner"))
    .values(
        turn_count=_conv.turn_count + 1,
        updated_at=bindparam("b_now", type_=UTCDateTime()),
        title=func.coalesce(_conv.title, bindparam("b_title")),
    )
    .returning(_conv.turn_count, _conv.collections)
)
_ADD_TURN = insert(_turns)
# The whole append as one statement that is its own transaction, when the conversation
# already has a title and the answer's collection (see TurnSaver._append): on
# SQLite the trigger of migration 0002 advances the count the INSERT read; on PostgreSQL
# the UPDATE takes the row lock first, so concurrent appends are numbered one after another.
_ONE_STATEMENT = {
    "sqlite": "INSERT INTO turns "
    "(conversation_id, number, question, answer, abstained, collection, created_at) "
    "SELECT id, turn_count + 1, :question, :answer, :abstained, :collection, :created_at "
    "FROM conversations WHERE id = :b_id AND owner = :b_owner RETURNING number",
    "postgresql": "WITH bumped AS (UPDATE conversations "
    "SET turn_count = turn_count + 1, updated_at = :created_at "
    "WHERE id = :b_id AND owner = :b_owner RETURNING id, turn_count) "
    "INSERT INTO turns "
    "(conversation_id, number, question, answer, abstained, collection, created_at) "
    "SELECT id, turn_count, :question, :answer, :abstained, :collection, :created_at "
    "FROM bumped RETURNING number",
}
_ONE_STATEMENT_PARAMS = (
    bindparam("answer", type_=JSONDoc),
    bindparam("created_at", type_=UTCDateTime()),
    bindparam("abstained", type_=Boolean()),
)
# The answer of a reserved turn until its answer is written (see TurnSaver.begin).
PENDING: dict[str, Any] = {}
_FILL_TURN = (
    update(_turns)
    .where(_turns.c.conversation_id == bindparam("b_id"), _turns.c.number == bindparam("b_number"))
    .values(answer=bindparam("answer", type_=JSONDoc), abstained=bindparam("abstained"))
)
# How many (conversation, collection) pairs a store remembers as settled.
_SETTLED_MAX = 10_000


def db_text(text: str) -> str:
    """Text as every database stores it: PostgreSQL refuses NUL characters in text and JSONB."""
    return text.replace("\x00", "\ufffd")


def title_of(text: str) -> str:
    text = " ".join(db_text(text).split())
    return text if len(text) <= MAX_TITLE else text[: MAX_TITLE - 1].rstrip() + "…"


def _storable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value).replace("inf", "Infinity").replace("nan", "NaN")
    if isinstance(value, str):
        return db_text(value)
    if isinstance(value, dict):
        return {db_text(k): _storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_storable(v) for v in value]
    return value


def answer_json(answer: Answer) -> dict[str, Any]:
    """The Answer as JSON data both databases store and that reads back into the same Answer.

    JSON has no NaN or infinity (PostgreSQL's JSONB rejects them), and model_dump(mode="json")
    keeps them in float fields; as strings, pydantic reads them back into the same floats.
    NUL characters become U+FFFD, the one change a stored Answer may show.
    """
    data: dict[str, Any] = _storable(answer.model_dump(mode="json"))
    return data


def _record(number: int, values: dict[str, Any], answer: Answer) -> TurnRecord:
    return TurnRecord(
        number=number, question=values["question"], answer=answer, created_at=values["created_at"]
    )


class TurnSaver:
    """Appends turns to conversations, at once or beside the answering; one per store."""

    def __init__(self, db: Database, policy: Policy) -> None:
        self.db = db
        self.policy = policy
        # (conversation, collection) pairs whose conversation has a title and lists the
        # collection: both only ever stay so, so a later append needs neither (one statement).
        self._settled: set[tuple[str, str | None]] = set()
        self._one_statement = text(_ONE_STATEMENT[db.dialect]).bindparams(*_ONE_STATEMENT_PARAMS)
        self.writer = Writer()
        # Turns this process has reserved and is still answering: reads skip them unwaited.
        self.answering: set[tuple[str, int]] = set()

    def close(self) -> None:
        """Write what is queued; nothing is written after."""
        self.writer.close()

    def append(
        self, user: User, conversation_id: str, answer: Answer, collection: str | None = None
    ) -> TurnRecord:
        """Save ``answer`` as the next turn of the user's conversation; returns it numbered.
        The write is done when this returns (``begin`` overlaps it with the answering)."""
        values = self._turn_values(user, answer.question, collection)
        values |= {"answer": answer_json(answer), "abstained": answer.abstained}
        number = self._append(user, conversation_id, values)
        return _record(number, values, answer)

    def begin(
        self, user: User, conversation_id: str, question: str, collection: str | None = None
    ) -> PendingTurn:
        """Reserve the next turn for ``question`` while it is being answered (see the module
        docstring); ``finish`` or ``cancel`` the PendingTurn. Only the owner reserves a turn;
        the reservation's errors (NotFound: no such conversation of the user's) are raised by
        ``finish``."""
        values = self._turn_values(user, question, collection)
        values |= {"answer": PENDING, "abstained": False}

        def reserve() -> int:
            number = self._append(user, conversation_id, values)
            self.answering.add((conversation_id, number))
            return number

        return PendingTurn(self, conversation_id, values, self.writer.submit(reserve))

    def _turn_values(self, user: User, question: str, collection: str | None) -> dict[str, Any]:
        if collection is not None and not self.policy.can_read(user, collection):
            raise Forbidden(f"{user.name} may not read {collection!r}")
        return {"question": db_text(question), "collection": collection, "created_at": utcnow()}

    def _append(self, user: User, conversation_id: str, values: dict[str, Any]) -> int:
        key = (conversation_id, values["collection"])
        if key in self._settled:
            return self._append_one(user, conversation_id, values)
        number = self._append_first(user, conversation_id, values, title_of(values["question"]))
        if len(self._settled) >= _SETTLED_MAX:
            self._settled.clear()
        self._settled.add(key)
        return number

    def fill(self, conversation_id: str, number: int, answer: Answer) -> None:
        """Write the answer of a reserved turn (on the writer thread)."""
        values = {"answer": answer_json(answer), "abstained": answer.abstained}
        with self.db.single() as conn:
            conn.execute(_FILL_TURN, {**values, "b_id": conversation_id, "b_number": number})

    def drop(self, conversation_id: str, number: int) -> None:
        """Remove a reserved turn that got no answer (on the writer thread)."""
        with self.db.single() as conn:
            conn.execute(delete(T).where(T.conversation_id == conversation_id, T.number == number))

    def _append_one(self, user: User, conversation_id: str, values: dict[str, Any]) -> int:
        """The append as one statement (the conversation has its title and collection)."""
        with self.db.single() as conn:
            number = conn.execute(
                self._one_statement, {**values, "b_id": conversation_id, "b_owner": user.name}
            ).scalar_one_or_none()
        if number is None:
            raise NotFound("no such conversation")
        return int(number)

    def _append_first(
        self, user: User, conversation_id: str, values: dict[str, Any], title: str
    ) -> int:
        """The append that may also title the conversation and add the collection to it."""
        collection = values["collection"]
        with self.db.write() as conn:
            counted = conn.execute(
                _COUNT_TURN,
                {"b_id": conversation_id, "b_owner": user.name, "b_now": values["created_at"],
                 "b_title": title},
            ).one_or_none()  # fmt: skip
            if counted is None:
                raise NotFound("no such conversation")
            number, collections = counted
            if collection is not None and collection not in collections:
                conn.execute(
                    update(C)
                    .where(C.id == conversation_id)
                    .values(collections=[*collections, collection])
                )
            row = {**values, "conversation_id": conversation_id, "number": number}
            conn.execute(_ADD_TURN, row)
        return int(number)


class PendingTurn:
    """A turn reserved for a question being answered (``TurnSaver.begin``)."""

    def __init__(
        self, saver: TurnSaver, conversation_id: str, values: dict[str, Any],
        reserved: Future[int],
    ) -> None:  # fmt: skip
        self._saver, self.conversation_id, self._values = saver, conversation_id, values
        self._reserved = reserved
        self._ended = False

    def reserved(self) -> int:
        """The turn's number once its reservation is written (waits for it); raises the
        reservation's error."""
        return self._reserved.result()

    def finish(self, answer: Answer) -> TurnRecord:
        """Hand ``answer`` over to be written as the turn's answer; returns the numbered turn
        at once (after the reservation, if it is still running). Raises the reservation's
        error (NotFound when the conversation is gone)."""
        if self._ended:
            raise RuntimeError("the turn was already finished or cancelled")
        self._ended = True
        number = self._reserved.result()
        key = (self.conversation_id, number)
        self._saver.writer.submit(
            lambda: self._saver.fill(*key, answer),
            behind=f"saving the answer of turn {number} of conversation {self.conversation_id}",
        )
        self._saver.answering.discard(key)
        values = self._values
        return _record(number, values, answer)

    def cancel(self) -> None:
        """The question got no answer: its reserved turn is removed (its number stays used)."""
        if self._ended:
            return
        self._ended = True
        try:
            number = self._reserved.result()
        except Exception:  # nothing was reserved
            return
        key = (self.conversation_id, number)
        self._saver.writer.submit(lambda: self._saver.drop(*key), behind="removing a turn")
        self._saver.answering.discard(key)
