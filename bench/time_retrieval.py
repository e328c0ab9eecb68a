"""Retrieval latency with a date window and with the recency prior, beside plain retrieval.

Run: ``.venv/bin/python bench/time_retrieval.py [--dataset runs/clapnq] [--questions 200]``.
The ClapNQ passages (a prepared dataset, ``citeqa eval prepare clapnq``) are ingested with
dates spread over three years (fixed by each id's hash), then every question is searched
three ways in the same run: no time scope (the baseline), a one-year window, and the recency
prior. Each query is run once per way after a warm-up, and the questions are embedded
beforehand, so caches favour none of the ways. Target
(issue 12): the window and the prior stay within 10% of the baseline's p95.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import RESULTS, machine_info, percentile, print_table, write_json
from qa.config import Settings
from qa.dates import DateRange
from qa.evaluation.datasets import load_dataset
from qa.service import Assistant
from qa.timeframe import TimeScope

START = date(2020, 1, 1)
AS_OF = date(2023, 1, 1)


def dated_corpus(dataset: Path, folder: Path) -> Path:
    """The dataset's docs.jsonl with a date per record (three years, by hash of the id)."""
    out = folder / "dated.jsonl"
    with out.open("w", encoding="utf-8") as fh:
        for line in (dataset / "docs.jsonl").read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            days = int(hashlib.sha256(record["id"].encode()).hexdigest(), 16) % (3 * 365)
            record["date"] = (START + timedelta(days=days)).isoformat()
            fh.write(json.dumps(record) + "\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=Path("runs/clapnq"))
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--out", type=Path, default=RESULTS / "time_retrieval.json")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    service = Assistant(Settings(data_dir=folder / "data", mode="extractive"))
    service.ingest([dated_corpus(args.dataset, folder)])
    searcher = service.searcher()
    questions = [i.question for i in load_dataset(args.dataset).items][: args.questions]
    ways = {
        "no time scope": None,
        "one-year window": TimeScope(window=DateRange(date(2021, 1, 1), date(2021, 12, 31))),
        "recency prior": TimeScope(recency_as_of=AS_OF),
    }
    for question in questions[:5]:  # warm-up: models, index, registry
        for scope in ways.values():
            searcher.search(question, 6, None, scope)
    service.embeddings.embed_cached(questions)  # every way finds the question's vector cached
    times: dict[str, list[float]] = {name: [] for name in ways}
    for question in questions:
        for name, scope in ways.items():
            start = time.perf_counter()
            searcher.search(question, 6, None, scope)
            times[name].append((time.perf_counter() - start) * 1000)
    base = percentile(times["no time scope"], 95)
    results = {
        name: {
            "p50_ms": percentile(values, 50),
            "p95_ms": percentile(values, 95),
            "p95_vs_baseline": percentile(values, 95) / base,
        }
        for name, values in times.items()
    }
    rows = [[n, f"{r['p50_ms']:.1f}", f"{r['p95_ms']:.1f}", f"{r['p95_vs_baseline']:.2f}"]
            for n, r in results.items()]  # fmt: skip
    print(f"{len(questions)} questions over {len(service.documents())} dated documents")
    print_table(["search", "p50 ms", "p95 ms", "p95 / baseline"], rows)
    write_json(args.out, {"machine": machine_info(), "questions": len(questions),
                          "results": results})  # fmt: skip


if __name__ == "__main__":
    main()
