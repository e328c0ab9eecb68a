"""Answer latency per mode on the sample questions: p50/p95 and time to first token.

Run: ``.venv/bin/python bench/answer.py [--modes extractive,local,openai] [--repeat 5]
[--corpus runs/clapnq [--questions 200]]``. With ``--corpus`` (a dataset folder from
``citeqa eval prepare``, e.g. ClapNQ's 597 passages) extractive answers are also timed on
that corpus, each question asked once after a short warm-up on other questions, so no
question profits from its own cached embeddings; the row stands beside the sample's.
``openai`` mode starts a real ``python -m llama_cpp.server`` with the bundled GGUF on a free
loopback port. Each mode is warmed up first (models loaded, caches filled by one pass);
the baseline is extractive mode, measured in the same run. Targets on a 2-core machine:
extractive p95 < 0.3 s; local time to first token < 1.5 s and full answer p50 < 5 s.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import RESULTS, SHARED_DATA, machine_info, percentile, print_table
from qa.chain_io import AnswerEvent, TokenEvent
from qa.config import Settings
from qa.llm.local import packaged_gguf
from qa.service import Assistant

SAMPLE = Path(__file__).resolve().parents[1] / "examples"


@contextmanager
def llama_server() -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(packaged_gguf()),
           "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        proc.wait(20)


def measure(
    service: Assistant, questions: list[str], repeat: int, warm: bool = True
) -> dict[str, object]:
    """Latency and time to first token of every question, ``repeat`` times."""
    for question in questions if warm else []:  # warm-up: load the model, fill the caches
        service.ask(question)
    totals, firsts, abstained = [], [], 0
    for _ in range(repeat):
        for question in questions:
            start = time.perf_counter()
            first = None
            for event in service.stream(question):
                if isinstance(event, TokenEvent) and first is None:
                    first = time.perf_counter() - start
                if isinstance(event, AnswerEvent):
                    abstained += event.answer.abstained
            totals.append(time.perf_counter() - start)
            if first is not None:
                firsts.append(first)
    return {
        "answers": len(totals),
        "abstained": abstained,
        "p50": percentile(totals, 50),
        "p95": percentile(totals, 95),
        "ttft_p50": percentile(firsts, 50) if firsts else None,
        "ttft_p95": percentile(firsts, 95) if firsts else None,
    }


def corpus_row(dataset: Path, n: int) -> dict[str, object]:
    """Extractive latency over a larger corpus: each question once, cold."""
    from qa.evaluation.datasets import load_dataset

    data = load_dataset(dataset)
    data_dir = Path(tempfile.mkdtemp()) / "data"
    service = Assistant(Settings(data_dir=data_dir, mode="extractive"))
    service.ingest([data.corpus_path])
    questions = [item.question for item in data.items]
    for question in questions[-3:]:  # warm-up: the model and the index, on other questions
        service.ask(question)
    result = measure(service, questions[:n], repeat=1, warm=False)
    result["documents"] = len(service.documents())
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default="extractive,local,openai")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--corpus", type=Path, help="a prepared dataset folder (runs/clapnq)")
    parser.add_argument("--questions", type=int, default=200, help="questions on --corpus")
    parser.add_argument("--out", type=Path, default=RESULTS / "answer.json")
    args = parser.parse_args()
    lines = (SHARED_DATA / "sample" / "questions.jsonl").read_text().splitlines()
    questions = [json.loads(line)["question"] for line in lines if line.strip()]
    data_dir = Path(tempfile.mkdtemp()) / "data"
    Assistant(Settings(data_dir=data_dir)).ingest([SAMPLE])
    results: dict[str, dict[str, object]] = {}
    for mode in args.modes.split(","):
        if mode == "openai":
            with llama_server() as url:
                settings = Settings(data_dir=data_dir, mode="openai", openai_base_url=url)
                results[mode] = measure(Assistant(settings), questions, args.repeat)
        else:
            settings = Settings(data_dir=data_dir, mode=mode)  # type: ignore[arg-type]
            results[mode] = measure(Assistant(settings), questions, args.repeat)
    if args.corpus:
        results[f"extractive on {args.corpus.name}"] = corpus_row(args.corpus, args.questions)
    rows = []
    for mode, r in results.items():
        ttft = "-" if r["ttft_p50"] is None else f"{r['ttft_p50']:.2f} / {r['ttft_p95']:.2f}"
        rows.append([mode, r["answers"], r["abstained"], r["p50"], r["p95"], ttft])
    print_table(["mode", "answers", "abstained", "p50 s", "p95 s", "ttft p50 / p95 s"], rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine_info(), "results": results}, indent=2))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
