"""Two processes appending turns to one conversation at once lose and duplicate nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from qa.people.access import Policy
from qa.people.db import Database
from qa.people.store import ConversationStore
from tests.qa.people.answers import cited_answer
from tests.qa.people.conftest import ALICE
from tests.qa.people.test_db import overlapped, run_workers

PER_PROCESS = 30


def test_concurrent_appends_from_two_processes(database: Database, db_url: str) -> None:
    store = ConversationStore(database, Policy.open())
    conversation = store.create(ALICE)
    spans = run_workers("append", db_url, ["a", "b"], conversation.id, str(PER_PROCESS))
    assert overlapped(spans), spans  # both really appended at once
    view = store.get(ALICE, conversation.id)
    numbers = [t.number for t in view.turns]
    assert numbers == list(range(1, 2 * PER_PROCESS + 1))
    assert view.turn_count == 2 * PER_PROCESS
    for tag in ("a", "b"):  # each process's turns, all there and in its own order
        mine = [t.question for t in view.turns if t.question.startswith(f"{tag}-")]
        assert mine == [f"{tag}-{i}" for i in range(PER_PROCESS)]


def test_concurrent_appends_and_shares_from_threads(database: Database) -> None:
    """Server routes run in a thread pool: one engine, many threads, one conversation."""
    store = ConversationStore(database, Policy.open())
    conversation = store.create(ALICE)

    def work(tag: int) -> str:
        for i in range(10):
            store.append_turn(ALICE, conversation.id, cited_answer(f"{tag}-{i}"), "news")
        return store.share(ALICE, conversation.id).token

    with ThreadPoolExecutor(4) as pool:
        tokens = set(pool.map(work, range(4)))
    view = store.get(ALICE, conversation.id)
    assert [t.number for t in view.turns] == list(range(1, 41))
    assert len({t.question for t in view.turns}) == 40
    assert len(tokens) == 1  # one live share link, however many asked at once
