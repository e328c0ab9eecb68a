"""What saving conversations costs per answered question, on SQLite and PostgreSQL.

The answer saved is a real one: the extractive chain answering a sample question over the
bundled article (citations, sources, timings, trace). Per database: ``append_turn`` (the one
write per answered question the page and the CLI make; target p95 < 5 ms), ``begin_turn`` +
``finish`` (the two writes the API makes beside the answering, run here to their end),
against a baseline measured in the same run, a bare single-statement INSERT of the same turn
row with no counter or lock; plus
``create``, ``add_feedback`` and reading a 10-turn conversation back. PostgreSQL is a
throwaway cluster (tests/postgres.py) with fsync on, so commits cost what they would.

Run from the repo root:

    .venv/bin/python bench/people.py [--turns 500] [--databases sqlite,postgresql] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert

from bench.common import REPO, RESULTS, machine_info, percentile, print_table, write_json
from qa.config import Settings
from qa.people.access import Policy
from qa.people.db import Database
from qa.people.identity import User
from qa.people.models import Turn
from qa.people.records import FeedbackIn
from qa.people.saving import answer_json
from qa.people.store import ConversationStore
from qa.service import Assistant
from qa.types import Answer
from tests.postgres import create_database, postgres_bin, postgres_cluster

QUESTION = "What concessions did the US offer?"
TURNS_PER_CONVERSATION = 10
USER = User(name="bench")


def real_answer(work: Path) -> Answer:
    settings = Settings(data_dir=work / "data", mode="extractive", examples_dir=REPO / "examples")
    assistant = Assistant(settings)
    assistant.ensure_examples()
    return assistant.ask(QUESTION)


def timed(n: int, action: Callable[[int], object]) -> tuple[list[float], list[float]]:
    """Wall and client-CPU milliseconds of each of ``n`` calls of ``action(i)``.

    CPU time is what contention from other processes distorts least; it leaves out the
    PostgreSQL server's own work and any wait for the disk.
    """
    wall, cpu = [], []
    for i in range(n):
        start, start_cpu = time.perf_counter(), time.process_time()
        action(i)
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return wall, cpu


@contextmanager
def database(kind: str, work: Path) -> Iterator[Database]:
    with ExitStack() as stack:
        if kind == "sqlite":
            url = f"sqlite:///{work / 'people.db'}"
        else:
            url = create_database(stack.enter_context(postgres_cluster(fsync=True)))
        db = Database(url)
        db.migrate()
        try:
            yield db
        finally:
            db.dispose()


def measure(db: Database, answer: Answer, turns: int) -> dict[str, tuple[list[float], list[float]]]:
    store = ConversationStore(db, Policy.open())
    conversations = [store.create(USER).id for _ in range(turns // TURNS_PER_CONVERSATION)]
    for c in conversations[:2]:  # warm up: connections pooled, statements compiled
        store.append_turn(USER, c, answer, "documents")
    results: dict[str, tuple[list[float], list[float]]] = {}
    results["append_turn"] = timed(
        turns,
        lambda i: store.append_turn(
            USER, conversations[i % len(conversations)], answer, "documents"
        ),
    )

    def overlapped(i: int) -> None:
        pending = store.begin_turn(
            USER, conversations[i % len(conversations)], QUESTION, "documents"
        )
        pending.finish(answer)
        store.writer.settle()

    # What the server does per question asked in a conversation through the API: both
    # writes on the writer thread (reserve the turn, then write its answer), timed to the end
    # here though a request waits for neither (bench/serve.py measures what it waits for).
    results["begin_turn + finish, both writes"] = timed(turns, overlapped)
    row = {
        "conversation_id": conversations[0],
        "question": answer.question,
        "answer": answer_json(answer),
        "abstained": answer.abstained,
        "collection": "documents",
    }
    offset = 10_000  # turn numbers the store never reaches here

    def bare_insert(i: int) -> None:
        with db.engine.begin() as conn:
            conn.execute(insert(Turn).values({**row, "number": offset + i}))

    results["baseline: bare INSERT"] = timed(turns, bare_insert)
    results["create"] = timed(min(turns, 200), lambda i: store.create(USER))
    results["add_feedback"] = timed(
        min(turns, 200),
        lambda i: store.add_feedback(
            USER,
            FeedbackIn(
                conversation_id=conversations[i % len(conversations)],
                turn=1 + i // len(conversations) % TURNS_PER_CONVERSATION,
                rating="down",
                reason="wrong",
            ),
        ),
    )
    results["get (10 turns)"] = timed(
        min(turns, 200), lambda i: store.get(USER, conversations[1 + i % (len(conversations) - 1)])
    )
    store.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=500, help="append_turn calls per database")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--out", type=Path, default=RESULTS / "people.json")
    args = parser.parse_args()
    kinds = [k.strip() for k in args.databases.split(",") if k.strip()]
    if "postgresql" in kinds and postgres_bin() is None:
        sys.exit(
            "PostgreSQL is not installed: apt-get install -y postgresql (or --databases sqlite)"
        )

    with tempfile.TemporaryDirectory() as tmp:
        answer = real_answer(Path(tmp))
        size = len(answer.model_dump_json())
        rows: list[list[Any]] = []
        results: dict[str, Any] = {}
        for kind in kinds:
            with database(kind, Path(tmp)) as db:
                samples = measure(db, answer, args.turns)
            results[kind] = {}
            for op, (ms, cpu) in samples.items():
                stats = {
                    "n": len(ms),
                    "p50_ms": percentile(ms, 50),
                    "p95_ms": percentile(ms, 95),
                    "max_ms": max(ms),
                    "cpu_p50_ms": percentile(cpu, 50),
                    "cpu_p95_ms": percentile(cpu, 95),
                }
                results[kind][op] = stats
                rows.append([kind, op, *stats.values()])

    print(f"answer JSON: {size} bytes ({len(answer.citations)} citations, "
          f"{len(answer.sources)} sources)")  # fmt: skip
    headers = ["database", "operation", "n", "p50 ms", "p95 ms", "max ms", "cpu p50", "cpu p95"]
    print_table(headers, rows)
    print(f"load average (1, 5, 15 min) at the end: {os.getloadavg()}")
    verdicts = {k: results[k]["append_turn"]["p95_ms"] < 5.0 for k in kinds}
    for kind, ok in verdicts.items():
        print(f"{kind}: append_turn p95 < 5 ms: {'yes' if ok else 'NO'}")
    write_json(
        args.out,
        {
            "machine": machine_info(),
            "load_average": os.getloadavg(),
            "answer_json_bytes": size,
            "target_p95_ms": 5.0,
            "results": results,
        },
    )


if __name__ == "__main__":
    main()
