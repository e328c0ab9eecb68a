"""Compare two evaluation runs: the metric differences per system, as text, markdown and PNG."""

from __future__ import annotations

import json
from pathlib import Path

from qa.evaluation.metrics import METRIC_GROUPS
from qa.evaluation.plots import delta_chart, fmt
from qa.evaluation.report import SUMMARY
from qa.evaluation.tables import md_cell, metric_rows


def compare(run_a: Path | str, run_b: Path | str, out_dir: Path | str | None = None) -> str:
    """Metric differences between two runs (b minus a) per system both ran, as a text table.

    With out_dir, also writes compare.md and compare.png (the deltas of the rate metrics).
    """
    a, b = (json.loads((Path(p) / SUMMARY).read_text(encoding="utf-8")) for p in (run_a, run_b))
    table: list[tuple[str, str, float | None, float | None, float | None]] = []
    for system in [s for s in a["systems"] if s in b["systems"]]:
        b_values = {row[1]: row[2] for row in metric_rows(b["systems"][system])}
        for _, name, va, _, _ in metric_rows(a["systems"][system]):
            vb = b_values.get(name)
            delta = vb - va if va is not None and vb is not None else None
            table.append((system, name, va, vb, delta))
    header = ("system", "metric", Path(run_a).name or "a", Path(run_b).name or "b", "delta")
    cells = [header] + [(s, m, fmt(va), fmt(vb), _delta(d)) for s, m, va, vb, d in table]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    text = "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells
    )
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        md = ["| " + " | ".join(header) + " |", "|---|---|---:|---:|---:|"]
        md += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in cells[1:]]
        (out / "compare.md").write_text("\n".join(md) + "\n", encoding="utf-8")
        rates = {n for names in METRIC_GROUPS.values() for n in names}
        deltas: dict[str, dict[str, float | None]] = {}
        for system, name, _, _, d in table:
            if name in rates:
                deltas.setdefault(system, {})[name] = d
        (out / "compare.png").write_bytes(delta_chart(deltas))
    return text + "\n"


def _delta(value: float | None) -> str:
    """A signed difference for a table cell."""
    return "n/a" if value is None else f"{value:+.3f}"
