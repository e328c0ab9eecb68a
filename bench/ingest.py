"""Ingestion throughput (chunks/s) of citeqa against raw sentence-transformers encoding.

Ingests the sample Reuters article plus the 597 ClapNQ passages into a fresh embedded store
through the real service, then encodes exactly the stored chunk texts with the bare
SentenceTransformer as the baseline; the target is ingest/raw >= 0.85. A second table shows
that re-ingesting the unchanged corpus embeds nothing.

Run from the repo root:

    .venv/bin/python bench/ingest.py [--repeat 3] [--data DIR] [--out FILE]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from common import REPO, RESULTS, SHARED_DATA, best_and_median, machine_info, print_table, rate
from common import write_json as save

from qa.config import Settings
from qa.evaluation.datasets import prepare_clapnq
from qa.service import Assistant

TARGET = 0.85


def measure(sources: list[Path], workdir: Path) -> dict[str, Any]:
    """One run on a fresh store: ingest, raw encode of the same chunks, unchanged re-ingest."""
    a = Assistant(Settings(data_dir=workdir / "data", collection="bench"))
    a.embeddings.embed_documents(["warm up"])  # model loading is not ingestion
    start = time.perf_counter()
    report = a.ingest(sources)
    ingest_s = time.perf_counter() - start
    failed = [r for r in report.results if r.status == "failed"]
    if failed:
        raise SystemExit(f"ingest failed: {failed[0].path}: {failed[0].reason}")
    chunks = a.store().count()

    texts: list[str] = a.store().chunks.get(include=["documents"])["documents"]
    start = time.perf_counter()
    a.embeddings.model.encode(
        texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False
    )
    raw_s = time.perf_counter() - start

    before = a.embeddings.texts_embedded
    start = time.perf_counter()
    a.ingest(sources)
    reingest_s = time.perf_counter() - start
    return {
        "chunks": chunks,
        "raw_texts": len(texts),
        "ingest_s": ingest_s,
        "raw_s": raw_s,
        "ratio": rate(chunks, ingest_s) / rate(len(texts), raw_s),
        "reingest_s": reingest_s,
        "reingest_embedded": a.embeddings.texts_embedded - before,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED_DATA, help="shared data folder")
    parser.add_argument("--out", type=Path, default=RESULTS / "ingest.json", help="JSON path")
    parser.add_argument("--repeat", type=int, default=1, help="runs, each on a fresh store")
    args = parser.parse_args()
    sample = REPO / "examples" / "reuters-2022-03-07-us-venezuela-talks.txt"

    with tempfile.TemporaryDirectory(prefix="citeqa-bench-") as tmp:
        corpus = Path(tmp) / "clapnq"
        prepare_clapnq(args.data / "clapnq", corpus)
        sources = [sample, corpus / "docs.jsonl"]
        runs = [measure(sources, Path(tmp) / f"run{n}") for n in range(max(1, args.repeat))]

    chunks, n_raw = runs[0]["chunks"], runs[0]["raw_texts"]
    ingest_best, ingest_med = best_and_median([r["ingest_s"] for r in runs])
    raw_best, raw_med = best_and_median([r["raw_s"] for r in runs])
    ratio = rate(chunks, ingest_best) / rate(n_raw, raw_best)
    ratio_med = statistics.median(r["ratio"] for r in runs)
    met = ratio >= TARGET

    print(f"ingestion: sample article + ClapNQ passages, {len(runs)} run(s), best (median)\n")
    print_table(
        ["system", "chunks", "seconds", "chunks/s", "median s"],
        [
            ["citeqa ingest", chunks, ingest_best, rate(chunks, ingest_best), ingest_med],
            ["raw encode (baseline)", n_raw, raw_best, rate(n_raw, raw_best), raw_med],
        ],
    )
    verdict = "met" if met else "NOT met"
    print(
        f"\nratio ingest/raw: {ratio:.3f} (median {ratio_med:.3f}); target >= {TARGET}: {verdict}\n"
    )
    re_best, re_med = best_and_median([r["reingest_s"] for r in runs])
    embedded = max(r["reingest_embedded"] for r in runs)
    print_table(
        ["re-ingest (unchanged)", "seconds", "median s", "texts embedded"],
        [["citeqa ingest", re_best, re_med, embedded]],
    )
    if embedded:
        print("\nre-ingest embedded texts: unchanged documents should cost no embedding")

    save(
        args.out,
        {
            "benchmark": "ingest",
            "machine": machine_info(),
            "sources": [str(sample), "clapnq docs.jsonl (597 passages)"],
            "chunks": chunks,
            "ingest": {
                "best_s": ingest_best,
                "median_s": ingest_med,
                "chunks_per_s": rate(chunks, ingest_best),
            },
            "raw_encode": {
                "best_s": raw_best,
                "median_s": raw_med,
                "chunks_per_s": rate(n_raw, raw_best),
                "batch_size": 64,
            },
            "ratio": ratio,
            "ratio_median": ratio_med,
            "target": TARGET,
            "target_met": met,
            "reingest": {"best_s": re_best, "median_s": re_med, "texts_embedded": embedded},
            "runs": runs,
        },
    )
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
