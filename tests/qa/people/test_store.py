"""ConversationStore on SQLite and PostgreSQL: ownership, turns, sharing, feedback, access."""

from __future__ import annotations

import math
import time

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from qa.http.turns import messages_of
from qa.people.db import Database
from qa.people.models import Feedback, Share, Turn
from qa.people.records import FeedbackIn, Forbidden, NotFound
from qa.people.store import ConversationStore
from tests.qa.people.answers import cited_answer, refusal
from tests.qa.people.conftest import ALICE, BOB, CAROL


def test_a_new_conversation_is_titled_by_its_first_question(store: ConversationStore) -> None:
    conversation = store.create(ALICE)
    assert conversation.title is None and conversation.turn_count == 0
    first = store.append_turn(ALICE, conversation.id, cited_answer("First?"), "news")
    store.append_turn(ALICE, conversation.id, cited_answer("Second?"), "news")
    view = store.get(ALICE, conversation.id)
    assert first.number == 1
    assert view.title == "First?"
    assert [(t.number, t.question) for t in view.turns] == [(1, "First?"), (2, "Second?")]
    assert view.turn_count == 2 and view.collections == ["news"] and not view.read_only


def test_the_full_answer_round_trips(store: ConversationStore) -> None:
    answer = cited_answer()
    answer.timings["odd"] = math.inf  # JSON has no infinity; it must still come back
    conversation = store.create(ALICE)
    store.append_turn(ALICE, conversation.id, answer, "news")
    stored = store.get(ALICE, conversation.id).turns[0].answer
    assert stored.model_dump(exclude={"timings"}) == answer.model_dump(exclude={"timings"})
    assert stored.timings == {"retrieve": 0.012, "generate": 0.5, "odd": math.inf}


def test_a_long_question_makes_a_short_title(store: ConversationStore) -> None:
    conversation = store.create(ALICE)
    store.append_turn(ALICE, conversation.id, cited_answer("why " * 200), "news")
    title = store.get(ALICE, conversation.id).title
    assert title is not None and len(title) == 200 and title.endswith("…")


def test_collections_used_are_recorded_once_each(store: ConversationStore) -> None:
    conversation = store.create(ALICE)
    for collection in ("news", "sports", "news", None):
        store.append_turn(ALICE, conversation.id, cited_answer(), collection)
    assert store.get(ALICE, conversation.id).collections == ["news", "sports"]


def test_users_list_only_their_own_conversations_newest_first(store: ConversationStore) -> None:
    older, newer = store.create(ALICE, "older"), store.create(ALICE, "newer")
    store.create(BOB, "bob's")
    assert [c.id for c in store.list_for(ALICE)] == [newer.id, older.id]
    time.sleep(0.01)
    store.append_turn(ALICE, older.id, cited_answer(), "news")  # activity moves it up
    assert [c.title for c in store.list_for(ALICE)] == ["older", "newer"]
    assert [c.title for c in store.list_for(BOB)] == ["bob's"]
    assert store.list_for(CAROL) == []


def test_others_cannot_read_rename_delete_or_append(store: ConversationStore) -> None:
    conversation = store.create(ALICE)
    store.append_turn(ALICE, conversation.id, cited_answer(), "news")
    for attempt in (
        lambda: store.get(BOB, conversation.id),
        lambda: store.rename(BOB, conversation.id, "mine now"),
        lambda: store.delete(BOB, conversation.id),
        lambda: store.append_turn(BOB, conversation.id, cited_answer(), "news"),
        lambda: store.share(BOB, conversation.id),
        lambda: store.get(ALICE, "no-such-id"),
    ):
        with pytest.raises(NotFound):
            attempt()
    assert store.get(ALICE, conversation.id).turn_count == 1


def test_rename_and_delete(store: ConversationStore, database: Database) -> None:
    conversation = store.create(ALICE)
    store.append_turn(ALICE, conversation.id, cited_answer(), "news")
    assert store.rename(ALICE, conversation.id, "  Talks  ").title == "Talks"
    with pytest.raises(ValueError, match="empty"):
        store.rename(ALICE, conversation.id, "  ")
    store.share(ALICE, conversation.id)
    store.add_feedback(ALICE, FeedbackIn(conversation_id=conversation.id, turn=1, rating="up"))
    store.delete(ALICE, conversation.id)
    with pytest.raises(NotFound):
        store.get(ALICE, conversation.id)
    with database.read() as conn:  # turns, feedback and shares went with it
        for table in (Turn, Feedback, Share):
            assert conn.execute(select(func.count()).select_from(table)).scalar_one() == 0


def test_an_answer_from_an_unreadable_collection_is_not_saved(store: ConversationStore) -> None:
    conversation = store.create(BOB)
    with pytest.raises(Forbidden):
        store.append_turn(BOB, conversation.id, cited_answer(), "sports")
    assert store.get(BOB, conversation.id).turn_count == 0


def test_a_share_link_opens_read_only_for_readers_only(store: ConversationStore) -> None:
    conversation = store.create(ALICE)
    store.append_turn(ALICE, conversation.id, cited_answer(), "news")
    share = store.share(ALICE, conversation.id)
    assert store.share(ALICE, conversation.id).token == share.token  # one live link
    shared = store.get_shared(BOB, share.token)  # bob reads news
    assert shared.read_only and shared.turns[0].answer == cited_answer()
    assert store.get(BOB, conversation.id).read_only  # the id works too once shared
    assert not store.get_shared(ALICE, share.token).read_only
    with pytest.raises(NotFound):
        store.get_shared(CAROL, share.token)  # carol cannot read news
    with pytest.raises(NotFound):
        store.get(CAROL, conversation.id)
    with pytest.raises(NotFound):
        store.get_shared(BOB, "forged-token")
    assert store.list_for(BOB) == []  # shared is not owned


def test_a_revoked_share_opens_nothing(store: ConversationStore) -> None:
    conversation = store.create(ALICE)
    token = store.share(ALICE, conversation.id).token
    assert store.revoke_shares(ALICE, conversation.id) == 1
    with pytest.raises(NotFound):
        store.get_shared(BOB, token)
    with pytest.raises(NotFound):
        store.get(BOB, conversation.id)
    assert store.share(ALICE, conversation.id).token != token  # a new link


def test_a_conversation_mixing_collections_needs_all_of_them(store: ConversationStore) -> None:
    conversation = store.create(ALICE)
    store.append_turn(ALICE, conversation.id, cited_answer(), "news")
    store.append_turn(ALICE, conversation.id, cited_answer(), "sports")
    token = store.share(ALICE, conversation.id).token
    for reader in (BOB, CAROL):  # each reads one of the two
        with pytest.raises(NotFound):
            store.get_shared(reader, token)


def test_feedback_is_stored_per_user_and_replaced(
    store: ConversationStore, database: Database
) -> None:
    conversation = store.create(ALICE)
    store.append_turn(ALICE, conversation.id, cited_answer(), "news")
    down = FeedbackIn(
        conversation_id=conversation.id,
        turn=1,
        rating="down",
        reason="incomplete",
        correction="Also prisoners.",
    )
    record = store.add_feedback(ALICE, down)
    assert record.user == "alice" and record.reason == "incomplete"
    store.add_feedback(ALICE, FeedbackIn(conversation_id=conversation.id, turn=1, rating="up"))
    assert store.get(ALICE, conversation.id).turns[0].rating == "up"
    store.share(ALICE, conversation.id)
    store.add_feedback(BOB, down)  # a reader of a shared conversation may rate it
    assert store.get(BOB, conversation.id).turns[0].rating == "down"
    with database.read() as conn:
        rows = conn.execute(select(Feedback.user, Feedback.rating).order_by(Feedback.user)).all()
    assert [tuple(r) for r in rows] == [("alice", "up"), ("bob", "down")]


def test_feedback_needs_a_visible_turn(store: ConversationStore) -> None:
    conversation = store.create(ALICE)
    store.append_turn(ALICE, conversation.id, cited_answer(), "news")
    with pytest.raises(NotFound):
        store.add_feedback(ALICE, FeedbackIn(conversation_id=conversation.id, turn=2, rating="up"))
    with pytest.raises(NotFound):
        store.add_feedback(BOB, FeedbackIn(conversation_id=conversation.id, turn=1, rating="up"))


@pytest.mark.parametrize(
    "fields",
    [
        {"turn": 0, "rating": "up"},
        {"turn": 1, "rating": "meh"},
        {"turn": 1, "rating": "down", "reason": "boring"},
        {"turn": 1, "rating": "down", "correction": "x" * 5001},
    ],
)
def test_bad_feedback_is_refused_before_the_database(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        FeedbackIn.model_validate({"conversation_id": "c", **fields})


def test_the_saved_turns_feed_follow_up_questions(store: ConversationStore) -> None:
    conversation = store.create(ALICE)
    store.append_turn(ALICE, conversation.id, cited_answer("Who offered?"), "news")
    store.append_turn(ALICE, conversation.id, refusal("And the weather?"), "news")
    history = messages_of(store.recent_turns(ALICE, conversation.id, 10))
    assert [(m.role, m.content) for m in history] == [
        ("user", "Who offered?"),
        ("assistant", cited_answer().text),
        ("user", "And the weather?"),
        ("assistant", "I could not find this in the documents."),
    ]
    assert history[1].quotes == [c.quote for c in cited_answer().citations]


def test_nul_characters_are_stored_as_replacement_characters(store: ConversationStore) -> None:
    """PostgreSQL refuses NUL in text; a stray one must not lose the turn on either database."""
    conversation = store.create(ALICE)
    answer = cited_answer("Who\x00 offered?")
    answer.citations[0].quote = "A\x00B"
    answer.trace["odd\x00key"] = "v\x00"
    store.append_turn(ALICE, conversation.id, answer, "news")
    store.add_feedback(
        ALICE,
        FeedbackIn(conversation_id=conversation.id, turn=1, rating="down", correction="x\x00y"),
    )
    turn = store.get(ALICE, conversation.id).turns[0]
    assert turn.question == "Who\ufffd offered?" == turn.answer.question
    assert turn.answer.citations[0].quote == "A\ufffdB"
    assert turn.answer.trace["odd\ufffdkey"] == "v\ufffd"
    assert store.get(ALICE, conversation.id).title == "Who\ufffd offered?"


def test_later_turns_are_one_statement_that_advances_the_conversation(
    store: ConversationStore, database: Database
) -> None:
    """The first turn titles the conversation and lists its collection; later turns to the
    same collection are one statement (migration 0002's trigger on SQLite, a CTE on
    PostgreSQL) that must still number the turn and move the conversation up."""
    first, second = store.create(ALICE), store.create(ALICE)
    for _ in range(3):
        store.append_turn(ALICE, first.id, cited_answer(), "news")
    time.sleep(0.01)
    last = store.append_turn(ALICE, second.id, cited_answer("Who led the talks?"), "news")
    time.sleep(0.01)
    fourth = store.append_turn(ALICE, first.id, cited_answer("And then?"), "news")
    assert (last.number, fourth.number) == (1, 4)
    view = store.get(ALICE, first.id)
    assert [t.number for t in view.turns] == [1, 2, 3, 4]
    assert view.turn_count == 4
    assert view.title == "What concessions did the US offer?"  # the first question's
    assert view.updated_at == fourth.created_at
    assert [c.id for c in store.list_for(ALICE)] == [first.id, second.id]
    store.append_turn(ALICE, first.id, cited_answer(), "sports")  # a new collection is listed
    assert store.get(ALICE, first.id).collections == ["news", "sports"]


def test_an_append_to_a_conversation_deleted_elsewhere_saves_nothing(
    store: ConversationStore, database: Database
) -> None:
    conversation = store.create(ALICE)
    store.append_turn(ALICE, conversation.id, cited_answer(), "news")
    other_process = ConversationStore(database, store.policy)
    other_process.delete(ALICE, conversation.id)
    with pytest.raises(NotFound):
        store.append_turn(ALICE, conversation.id, cited_answer(), "news")
    with database.read() as conn:
        assert conn.execute(select(func.count()).select_from(Turn)).scalar_one() == 0


def test_recent_turns_are_the_newest_answered_ones_of_the_owners_conversation(
    store: ConversationStore,
) -> None:
    """What a follow-up is answered with, in one query: the newest turns, oldest first;
    a shared conversation is read-only for others (Forbidden), anyone else's is NotFound."""
    conversation = store.create(ALICE).id
    assert store.recent_turns(ALICE, conversation, 5) == []
    for n in range(4):
        store.append_turn(ALICE, conversation, cited_answer(f"Q{n}?"), "news")
    answering = store.begin_turn(ALICE, conversation, "Still answering?", "news")
    assert answering.reserved() == 5
    assert [t.question for t in store.recent_turns(ALICE, conversation, 3)] == ["Q1?", "Q2?", "Q3?"]
    assert [t.number for t in store.recent_turns(ALICE, conversation, 10)] == [1, 2, 3, 4]
    assert store.recent_turns(ALICE, conversation, 0) == []
    answering.finish(cited_answer("Still answering?"))
    assert store.recent_turns(ALICE, conversation, 1)[0].question == "Still answering?"
    with pytest.raises(NotFound):
        store.recent_turns(BOB, conversation, 3)  # bob reads news, but it is not shared
    with pytest.raises(NotFound):
        store.recent_turns(ALICE, "no-such-conversation", 3)
    store.share(ALICE, conversation)
    with pytest.raises(Forbidden):
        store.recent_turns(BOB, conversation, 3)
    with pytest.raises(NotFound):
        store.recent_turns(CAROL, conversation, 3)  # carol may not read news
