"""Latency of ``qa.timeframe.understand`` per question, with and without time expressions.

Run: ``.venv/bin/python bench/time_window.py [--repeat 20]``. Groups: news questions with a
relative expression (rules only), with an absolute date (rules + dateparser), and questions with
no time expression (the sample set and ClapNQ's dev questions). Target: p50 < 1 ms without an
expression. The cold start (importing the module, and dateparser's first parse) is measured in
fresh processes. The baseline, measured in the same run, is ``dateparser.search.search_dates``
on the same questions: its latency, and how often it finds a "date" in questions that name none.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import REPO, RESULTS, SHARED_DATA, machine_info, print_table, write_json
from qa.timeframe import understand

AS_OF = date(2022, 8, 10)
RELATIVE = [
    "What did the US offer last week?",
    "What happened in the talks yesterday?",
    "What did Venezuela say over the weekend?",
    "What changed in the past two weeks?",
    "Who met the delegation on Sunday?",
    "What has been agreed this year?",
    "What did officials say three days ago?",
    "Which sanctions were eased last month?",
    "What happened in the last 10 days?",
    "What did Maduro say earlier this year?",
    "What happened in 2019 to the bank?",
    "Has anything changed since 2021?",
]
ABSOLUTE = [
    "Who led the talks in March 2022?",
    "What did the US offer on 7 March 2022?",
    "What was offered before 1 June 2022?",
    "What changed since 1 March?",
    "What happened between March and June?",
    "What did Washington say on March 7, 2022?",
    "What did Caracas demand in June?",
    "What did they discuss on the 5th of March?",
]


def no_time_questions() -> list[str]:
    """Questions without a time expression: the sample set and ClapNQ dev (where readable)."""
    questions = []
    sample = SHARED_DATA / "sample" / "questions.jsonl"
    if sample.exists():
        lines = sample.read_text(encoding="utf-8").splitlines()
        questions += [json.loads(line)["question"] for line in lines if line.strip()]
    for name in ("question_dev_answerable.tsv", "question_dev_unanswerable.tsv"):
        path = SHARED_DATA / "clapnq" / name
        if path.exists():
            with path.open(encoding="utf-8", newline="") as handle:
                questions += [row["question"] for row in csv.DictReader(handle, delimiter="\t")]
    return [q for q in questions if not understand(q, AS_OF).expressions]


def latencies(fn: Callable[[str], object], questions: list[str], repeat: int) -> list[float]:
    """Seconds per call, every question ``repeat`` times after one warm-up pass."""
    for question in questions:
        fn(question)
    times = []
    for _ in range(repeat):
        for question in questions:
            start = time.perf_counter()
            fn(question)
            times.append(time.perf_counter() - start)
    return times


def p(values: list[float], q: int) -> float:
    """The q-th percentile in milliseconds."""
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


def cold(code: str) -> float:
    """Milliseconds a snippet takes in a fresh interpreter (it prints its own timing)."""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    return float(out.stdout.strip())


COLD_IMPORT = (
    "import time; t=time.perf_counter(); import qa.timeframe; print((time.perf_counter()-t)*1000)"
)
COLD_FIRST = (
    "import time, datetime, sys; from qa.timeframe import understand; d=datetime.date(2022,8,10);"
    "understand('Who leads the talks now?', d); assert 'dateparser' not in sys.modules;"
    "t=time.perf_counter(); understand('Who led the talks in March 2022?', d);"
    "print((time.perf_counter()-t)*1000)"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--baseline-questions", type=int, default=150)
    parser.add_argument("--out", type=Path, default=RESULTS / "time_window.json")
    args = parser.parse_args()
    plain = no_time_questions()
    groups = {"no expression": plain, "relative": RELATIVE, "absolute": ABSOLUTE}
    results: dict[str, dict[str, object]] = {}
    rows = []
    from dateparser.search import search_dates  # the baseline

    base_day = datetime(AS_OF.year, AS_OF.month, AS_OF.day)
    settings = {"RELATIVE_BASE": base_day, "PREFER_DATES_FROM": "past"}
    for name, questions in groups.items():
        ours = latencies(lambda q: understand(q, AS_OF), questions, args.repeat)
        subset = questions[: args.baseline_questions]
        base = latencies(lambda q: search_dates(q, languages=["en"], settings=settings), subset, 1)
        found = sum(bool(search_dates(q, languages=["en"], settings=settings)) for q in subset)
        windows = sum(understand(q, AS_OF).window is not None for q in questions)
        results[name] = {
            "questions": len(questions),
            "with_window": windows,
            "p50_ms": p(ours, 50),
            "p95_ms": p(ours, 95),
            "baseline_questions": len(subset),
            "baseline_p50_ms": p(base, 50),
            "baseline_p95_ms": p(base, 95),
            "baseline_found_dates": found,
        }
        r = results[name]
        rows.append([name, len(questions), windows, r["p50_ms"], r["p95_ms"],
                     f"{r['baseline_p50_ms']:.1f} / {r['baseline_p95_ms']:.1f}",
                     f"{found}/{len(subset)}"])  # fmt: skip
    print_table(
        ["questions", "n", "windows", "p50 ms", "p95 ms", "search_dates p50/p95 ms", "it found"],
        rows,
    )
    startup = {"import_ms": cold(COLD_IMPORT), "first_absolute_ms": cold(COLD_FIRST)}
    print(
        f"\ncold start: import qa.timeframe {startup['import_ms']:.1f} ms; first absolute date "
        f"(imports dateparser) {startup['first_absolute_ms']:.1f} ms; a question without one "
        "never imports dateparser"
    )
    write_json(args.out, {"machine": machine_info(), "results": results, "cold": startup})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
