"""A turn saved beside its answering (begin_turn / finish): numbered at once, written by the
store's writer thread, read back by this process at once and by another one shortly after."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import update

from qa.people import store as store_module
from qa.people.access import Policy
from qa.people.db import Database
from qa.people.feedback import feedback_items
from qa.people.insights import collect
from qa.people.models import Turn, utcnow
from qa.people.records import FeedbackIn, Forbidden, NotFound
from qa.people.store import PENDING, ConversationStore
from qa.people.writer import Writer
from tests.qa.people.answers import cited_answer, refusal
from tests.qa.people.conftest import ALICE, CAROL

# --- the writer thread ------------------------------------------------------------------------


def test_writer_runs_jobs_in_order_and_settle_waits_for_them() -> None:
    writer, ran = Writer(), []
    gate = threading.Event()
    writer.submit(gate.wait)  # holds the queue until released
    futures = [writer.submit(lambda i=i: ran.append(i) or i, behind=f"job {i}") for i in range(5)]
    assert writer.settle(timeout=0.05) is False and ran == []  # still held
    gate.set()
    assert writer.settle(timeout=30) is True
    assert ran == [0, 1, 2, 3, 4] and [f.result() for f in futures] == ran
    # A job somebody waits for is not waited for by settle: its submitter awaits it.
    held = threading.Event()
    awaited = writer.submit(held.wait)
    assert writer.settle(timeout=30) is True and not awaited.done()
    held.set()
    assert awaited.result(timeout=30) is True
    writer.close()
    with pytest.raises(RuntimeError, match="closed"):
        writer.submit(lambda: None)


def test_a_job_somebody_waits_for_goes_before_queued_writes_nobody_waits_for() -> None:
    writer, ran = Writer(), []
    gate = threading.Event()
    writer.submit(gate.wait)
    for i in range(3):
        writer.submit(lambda i=i: ran.append(f"behind {i}"), behind=f"write {i}")
    number = writer.submit(lambda: ran.append("awaited") or 7)
    gate.set()
    assert number.result(timeout=30) == 7
    writer.close()
    assert ran == ["awaited", "behind 0", "behind 1", "behind 2"]


def test_a_failed_job_is_kept_logged_and_the_writer_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    writer = Writer()

    def boom() -> None:
        raise ValueError("disk on fire")

    with caplog.at_level(logging.ERROR, logger="qa.people.writer"):
        awaited = writer.submit(boom)
        writer.submit(boom, behind="saving turn 3")
        after = writer.submit(lambda: "still here")
        assert after.result(timeout=30) == "still here"
        assert writer.settle(timeout=30)
    with pytest.raises(ValueError, match="disk on fire"):
        awaited.result()
    logged = [r.getMessage() for r in caplog.records]
    assert logged == ["people database: saving turn 3 failed: disk on fire"]  # only the unawaited
    writer.close()


def test_close_runs_what_is_queued() -> None:
    writer, ran = Writer(), []
    gate = threading.Event()
    writer.submit(gate.wait)
    writer.submit(lambda: ran.append("queued"))
    threading.Timer(0.05, gate.set).start()
    writer.close()
    assert ran == ["queued"]


def test_a_job_may_settle_without_waiting_for_itself() -> None:
    writer = Writer()
    assert writer.submit(lambda: writer.settle(timeout=30)).result(timeout=30) is True
    writer.close()


# --- the store ------------------------------------------------------------------------------


def test_a_turn_begun_before_answering_is_numbered_and_read_back_at_once(
    store: ConversationStore,
) -> None:
    conversation = store.create(ALICE).id
    first = store.begin_turn(ALICE, conversation, "What did the US offer?", "news")
    second = store.begin_turn(ALICE, conversation, "Who led them?", "news")
    # Answered in the other order: numbers follow the questions, not the answers.
    late = second.finish(cited_answer("Who led them?"))
    early = first.finish(refusal("What did the US offer?"))
    assert (early.number, late.number) == (1, 2)
    view = store.get(ALICE, conversation)  # no wait in this test: read-your-writes
    assert [(t.number, t.question, t.answer.abstained) for t in view.turns] == [
        (1, "What did the US offer?", True),
        (2, "Who led them?", False),
    ]
    assert view.turns[1].answer == cited_answer("Who led them?")
    assert view.title == "What did the US offer?" and view.collections == ["news"]


def test_a_turn_still_being_answered_is_left_out_and_a_cancelled_one_removed(
    store: ConversationStore,
) -> None:
    conversation = store.create(ALICE).id
    store.append_turn(ALICE, conversation, cited_answer("Before?"), "news")
    answering = store.begin_turn(ALICE, conversation, "In progress?", "news")
    assert answering.reserved() == 2
    view = store.get(ALICE, conversation)
    assert [t.question for t in view.turns] == ["Before?"] and view.turn_count == 2
    answering.cancel()
    after = store.append_turn(ALICE, conversation, cited_answer("After?"), "news")
    assert after.number == 3  # a given-up number is not handed out again
    assert [t.number for t in store.get(ALICE, conversation).turns] == [1, 3]
    answering.cancel()  # twice is harmless; finishing a cancelled turn is an error
    with pytest.raises(RuntimeError):
        answering.finish(cited_answer("In progress?"))


def test_the_reservation_checks_access_and_finish_raises_its_errors(
    store: ConversationStore,
) -> None:
    conversation = store.create(ALICE).id
    with pytest.raises(Forbidden):
        store.begin_turn(CAROL, conversation, "Q?", "news")  # carol may not read news
    nowhere = store.begin_turn(ALICE, "no-such-conversation", "Q?", "news")
    with pytest.raises(NotFound):
        nowhere.finish(cited_answer("Q?"))
    nowhere.cancel()  # nothing to remove


def test_feedback_and_insights_skip_a_turn_without_its_answer(
    store: ConversationStore, database: Database
) -> None:
    conversation = store.create(ALICE).id
    answering = store.begin_turn(ALICE, conversation, "Still answering?", "news")
    answering.reserved()
    with database.write() as conn:  # a refusal in the making, already thumbed down
        conn.execute(update(Turn).values(abstained=True))
    feedback = FeedbackIn(conversation_id=conversation, turn=1, rating="down", correction="X.")
    store.add_feedback(ALICE, feedback)
    assert feedback_items(database) == []
    assert collect(database) == []
    answering.finish(refusal("Still answering?"))
    store.writer.settle()
    assert [i.question for i in feedback_items(database)] == ["Still answering?"]
    assert [i.question for i in collect(database)] == ["Still answering?"]


def test_another_process_sees_a_turn_shortly_after_its_answer_was_returned(
    database: Database, policy: Policy
) -> None:
    """Two stores on one database stand for two server processes."""
    here, there = ConversationStore(database, policy), ConversationStore(database, policy)
    try:
        conversation = here.create(ALICE).id
        answering = there.begin_turn(ALICE, conversation, "Asked over there?", "news")
        answering.reserved()
        assert here.get(ALICE, conversation).turns == []  # still being answered there
        gate = threading.Event()
        there.writer.submit(gate.wait)  # the answer's write is held back...
        turn = answering.finish(cited_answer("Asked over there?"))
        threading.Timer(0.05, gate.set).start()  # ...and lands while this read waits for it
        view = here.get(ALICE, conversation)
        assert [(t.number, t.question) for t in view.turns] == [(turn.number, "Asked over there?")]
    finally:
        here.close()
        there.close()


def test_a_turn_left_pending_by_a_dead_process_is_not_waited_for(
    store: ConversationStore, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversation = store.create(ALICE).id
    store.append_turn(ALICE, conversation, cited_answer("Kept?"), "news")
    with database.write() as conn:  # a turn reserved two hours ago, never answered
        conn.execute(
            Turn.__table__.insert().values(
                conversation_id=conversation, number=2, question="Lost?", answer=PENDING,
                abstained=False, collection="news", created_at=utcnow() - timedelta(hours=2),
            )
        )  # fmt: skip
    monkeypatch.setattr(store_module, "_PENDING_WAIT_S", 60.0)
    began = time.monotonic()
    view = store.get(ALICE, conversation)
    assert time.monotonic() - began < 30  # it did not wait out the minute
    assert [t.question for t in view.turns] == ["Kept?"]
