"""Helpers shared by the benchmarks: data paths, timing summaries, tables, JSON results."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# The shared data folder sits beside the repo checkout (…/shared/data next to …/main).
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
RESULTS = REPO / "bench" / "results"


class Timer:
    """Wall and process CPU seconds of a block; CPU time is what contention distorts least."""

    def __enter__(self) -> Timer:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def machine_info() -> dict[str, Any]:
    """What a reader needs to compare numbers across machines."""
    return {
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def best_and_median(values: Sequence[float]) -> tuple[float, float]:
    """Best (lowest) and median of timings in seconds."""
    return min(values), statistics.median(values)


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A plain aligned table; floats get two decimals."""
    cells = [[f"{c:.2f}" if isinstance(c, float) else str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    for row in [list(headers), ["-" * w for w in widths], *cells]:
        print(" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (0-100), interpolating linearly between ranks."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * p / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)
