"""A separate process acting on the people database, for the concurrency tests.

    python -m tests.qa.people.worker migrate URL BARRIER NAME
    python -m tests.qa.people.worker append URL BARRIER NAME CONVERSATION N

Once loaded, each writes ``BARRIER/NAME.ready`` and waits for ``BARRIER/go``, so that the
processes really start their work together; ``BARRIER/NAME.span`` records when it ran.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from qa.people.access import Policy
from qa.people.db import Database
from qa.people.identity import User
from qa.people.store import ConversationStore
from tests.qa.people.answers import cited_answer


def main(argv: list[str]) -> None:
    action, url, barrier, name = argv[0], argv[1], Path(argv[2]), argv[3]
    db = Database(url)
    (barrier / f"{name}.ready").touch()
    while not (barrier / "go").exists():
        time.sleep(0.01)
    began = time.time()
    if action == "migrate":
        db.migrate()
    elif action == "append":
        conversation, n = argv[4], int(argv[5])
        store = ConversationStore(db, Policy.open())
        for i in range(n):
            store.append_turn(User(name="alice"), conversation, cited_answer(f"{name}-{i}"), "news")
    else:
        raise SystemExit(f"unknown action {action!r}")
    (barrier / f"{name}.span").write_text(f"{began} {time.time()}")
    db.dispose()


if __name__ == "__main__":
    main(sys.argv[1:])
