"""What verification keeps and what it stops: a capable model's answers, right and wrong.

Run: ``.venv/bin/python bench/verify.py [--answers PATH] [--out bench/results/verify.json]``.

The sample article is ingested into a scratch data dir. ``model_answers.jsonl`` (shared
data) holds answers a capable model might write: right ones in its own words and wrong ones
of known kinds (invented, negation, entity, number, contradiction). Each answer set is served
by the scripted OpenAI-compatible server (``python -m qa.evaluation.scripted_llm``) on a free
loopback port: first all right answers, then each wrong answer alone (a question has several
answers, and a server serves one). Every question of the set is asked through
``Assistant(Settings(mode="openai", ...))`` and its answer classified:

- **kept as written**: the answer text, without its ``[n]`` markers, is the model's answer;
- **kept with cuts**: some of the model's text reached the user, not all of it;
- **extractive fallback**: every sentence of the answer is a cited document sentence;
- **refused**: citeqa answered "I could not find this in the documents.".

For a wrong answer: whether any of its ``wrong`` strings reached the user (whole words,
case-insensitive). For a right one: whether it holds one of its ``any`` strings. Goal
(issue 8): all right answers kept as written with citations; no wrong string ever shown.
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import RESULTS, SHARED_DATA, machine_info, print_table, write_json
from qa.config import Settings
from qa.evaluation.matching import claims, contains_phrase, squash
from qa.service import Assistant
from qa.types import Answer

KINDS = ("right", "invented", "negation", "entity", "number", "contradiction")
OUTCOMES = ("kept as written", "kept with cuts", "extractive fallback", "refused")
_MARKERS = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")
# What the chain's trace says about verification, when it says it (not read for control flow).
TRACE_KEYS = ("fallback", "completeness", "gate", "verification", "cut")


@contextmanager
def scripted_server(answers: Path, log: Path) -> Iterator[str]:
    """A scripted server for one answer set, on a free loopback port; yields its /v1 URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [sys.executable, "-m", "qa.evaluation.scripted_llm", "--answers", str(answers),
           "--port", str(port), "--log", str(log)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the scripted server exited with {proc.returncode}")
            try:
                httpx.get(f"{url}/models", timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(20)


def _plain(text: str) -> str:
    """Text without [n] markers, whitespace collapsed, final full stop dropped."""
    return squash(_MARKERS.sub("", text)).rstrip(".!? ")


def classify(answer: Answer, model_text: str) -> str:
    """Which of OUTCOMES the user got, judged from the answer alone (never from the trace)."""
    if answer.abstained:
        return "refused"
    if _plain(answer.text) == _plain(model_text):
        return "kept as written"
    quotes = {_plain(c.quote) for c in answer.citations}
    if all(_plain(text) in quotes for text, _ in claims(answer.text)):
        return "extractive fallback"
    return "kept with cuts"


def kinds_of(record: dict[str, Any]) -> list[str]:
    """``right`` for a correct answer, else its kinds ("negation, entity" is both)."""
    if record.get("correct"):
        return ["right"]
    return [k.strip() for k in str(record.get("kind", "")).split(",") if k.strip()]


def answer_sets(records: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """All right answers as one set, then each wrong answer as a set of its own."""
    right = [r for r in records if r.get("correct")]
    return [right, *([r] for r in records if not r.get("correct"))]


def ask_set(
    records: list[dict[str, Any]], data_dir: Path, scratch: Path, n: int
) -> list[dict[str, Any]]:
    """Serve one answer set and ask each of its questions through citeqa's openai mode."""
    table = scratch / f"set-{n}.jsonl"
    table.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    results = []
    with scripted_server(table, scratch / f"set-{n}.log") as url:
        settings = Settings(
            data_dir=data_dir, mode="openai", openai_base_url=url, openai_model="scripted"
        )
        assistant = Assistant(settings)
        for record in records:
            answer = assistant.ask(record["question"])
            wrong = [w for w in record.get("wrong", []) if contains_phrase(answer.text, w)]
            holds_any = any(contains_phrase(answer.text, a) for a in record.get("any", []))
            results.append(
                {
                    "question": record["question"],
                    "model_answer": record["answer"],
                    "kinds": kinds_of(record),
                    "correct": bool(record.get("correct")),
                    "answer": answer.text,
                    "outcome": classify(answer, record["answer"]),
                    "llm_calls": answer.llm_calls,
                    "citations": len(answer.citations),
                    "wrong_shown": wrong,
                    "holds_any": holds_any if record.get("correct") else None,
                    "trace": {k: answer.trace[k] for k in TRACE_KEYS if k in answer.trace},
                }
            )
    return results


def by_kind(results: Sequence[dict[str, Any]]) -> list[list[object]]:
    """One table row per kind (an answer of two kinds counts in both), then all wrong ones."""
    groups = [(k, [r for r in results if k in r["kinds"]]) for k in KINDS]
    groups.append(("all wrong", [r for r in results if not r["correct"]]))
    rows: list[list[object]] = []
    for kind, rs in groups:
        if not rs:
            continue
        counts = [sum(r["outcome"] == o for r in rs) for o in OUTCOMES]
        called = sum(r["llm_calls"] > 0 for r in rs)
        cited = sum(r["citations"] > 0 for r in rs)
        if kind == "right":
            last = f"{sum(bool(r['holds_any']) for r in rs)} hold an `any` string"
        else:
            last = f"{sum(bool(r['wrong_shown']) for r in rs)} showed a wrong string"
        rows.append([kind, len(rs), called, *counts, cited, last])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--answers", type=Path, default=SHARED_DATA / "sample" / "model_answers.jsonl"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "verify.json")
    args = parser.parse_args()
    lines = args.answers.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    scratch = Path(tempfile.mkdtemp(prefix="citeqa-verify-"))
    data_dir = scratch / "data"
    article = next((SHARED_DATA / "sample").glob("*.txt"))
    report = Assistant(Settings(data_dir=data_dir)).ingest([article])
    if report.partial:
        raise SystemExit(f"the sample article did not ingest: {report.results}")

    results: list[dict[str, Any]] = []
    for n, records_ in enumerate(answer_sets(records)):
        results += ask_set(records_, data_dir, scratch, n)

    headers = ["kind", "answers", "model called", *OUTCOMES, "cited", "check"]
    print_table(headers, by_kind(results))
    print()
    print_table(
        ["kind", "question", "outcome", "wrong shown", "answer"],
        [
            [",".join(r["kinds"]), r["question"][:40], r["outcome"],
             ", ".join(r["wrong_shown"]) or "-", r["answer"][:70]]
            for r in results
        ],
    )  # fmt: skip
    write_json(
        args.out, {"machine": machine_info(), "answers": str(args.answers), "results": results}
    )
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
