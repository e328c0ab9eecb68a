"""Evaluation output: the results.jsonl log, summary.json, report.md, report.html, run comparison.

``report.html`` is self-contained (inline CSS, figures as base64 PNG, no external URL) so it
can be mailed or archived as one file and opened offline.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from qa.evaluation.metrics import METRIC_GROUPS, score_row

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SUMMARY = "summary.json"
COLORS = ("#2563eb", "#d97706", "#059669", "#7c3aed")

Summary = Mapping[str, Any]


# --- results.jsonl ---


def append_row(path: Path | str, row: Mapping[str, Any]) -> None:
    """Append one result row durably (flush + fsync), so a killed run can resume from the file.

    A partial last line left by a kill is completed when it is valid JSON and dropped when it
    is not, the same rule read_rows applies, so the row it held is redone, never glued on.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("a+b") as handle:
        _repair_tail(handle)
        handle.write((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())


def read_rows(path: Path | str) -> list[dict[str, Any]]:
    """Read result rows; a missing file is empty, and a truncated last line is skipped."""
    source = Path(path)
    if not source.exists():
        return []
    lines = source.read_bytes().split(b"\n")
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except ValueError as exc:  # JSON or UTF-8 decoding
            if number == len(lines):  # no newline after it: the write was cut short
                break
            raise ValueError(f"{source}:{number}: invalid result row: {exc}") from exc
    return rows


def _repair_tail(handle: BinaryIO) -> None:
    """Complete or drop a last line that has no newline; reads the file only in that case."""
    size = handle.seek(0, os.SEEK_END)
    if size == 0:
        return
    handle.seek(size - 1)
    if handle.read(1) == b"\n":
        return
    handle.seek(0)
    data = handle.read()
    tail = data[data.rfind(b"\n") + 1 :]
    if _parses(tail):
        handle.write(b"\n")
    else:
        handle.truncate(size - len(tail))


def _parses(data: bytes) -> bool:
    """Whether bytes hold one JSON value."""
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


# --- summary.json, report.md, report.html ---


def write_report(
    out_dir: Path | str,
    rows: Sequence[Mapping[str, Any]],
    summaries: Mapping[str, Summary],
    meta: Mapping[str, Any],
) -> None:
    """Write summary.json, report.md and report.html for a run of one or more systems."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    payload = {"meta": dict(meta), "systems": dict(summaries)}
    text = json.dumps(payload, indent=2, ensure_ascii=False, default=str)
    (out / SUMMARY).write_text(text + "\n", encoding="utf-8")
    (out / "report.md").write_text(_markdown(summaries, meta), encoding="utf-8")
    (out / "report.html").write_text(_html(rows, summaries, meta), encoding="utf-8")


def metric_rows(summary: Summary) -> list[tuple[str, str, float | None, int | None]]:
    """(group, metric, value, n) for every scalar of a summary, in report order."""
    n = summary.get("n", {})
    table = [
        (group, name, summary.get(name), n.get(name))
        for group, names in METRIC_GROUPS.items()
        for name in names
    ]
    for stage, stats in summary.get("latency", {}).items():
        table += [("latency", f"{stage} {p} (s)", stats[p], None) for p in ("p50", "p95")]
    for field in ("llm_calls", "tokens"):
        table += [
            ("cost", f"{field} {agg}", summary.get(f"{field}_{agg}"), None)
            for agg in ("total", "mean")
        ]
    return table


def _merged(summaries: Mapping[str, Summary]) -> list[tuple[str, str, list[str]]]:
    """(group, metric, one formatted cell per system) over the union of the systems' metrics."""
    cells: dict[tuple[str, str], dict[str, str]] = {}
    for system, summary in summaries.items():
        for group, name, value, n in metric_rows(summary):
            shown = _fmt(value) + (f" (n={n})" if n is not None else "")
            cells.setdefault((group, name), {})[system] = shown
    return [(g, m, [by.get(s, "") for s in summaries]) for (g, m), by in cells.items()]


def _fmt(value: float | None) -> str:
    """A metric value for a table cell."""
    if value is None:
        return "n/a"
    return str(value) if isinstance(value, int) else f"{value:.3f}"


def _markdown(summaries: Mapping[str, Summary], meta: Mapping[str, Any]) -> str:
    """report.md: the run's meta and a side-by-side metric table."""
    systems = list(summaries)
    lines = [f"# citeqa evaluation: {meta.get('dataset', '')}", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {_md_cell(v)} |" for k, v in _meta_items(meta)]
    lines += ["", "## Metrics", "", "| metric | " + " | ".join(systems) + " |"]
    lines.append("|---|" + "---:|" * len(systems))
    group = None
    for g, name, cells in _merged(summaries):
        if g != group:
            group = g
            lines.append(f"| **{g}** |" + " |" * len(systems))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _md_cell(value: Any) -> str:
    """A value made safe for a markdown table cell."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def _meta_items(meta: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Meta entries with dataset, mode, date and command first."""
    first = [k for k in ("dataset", "mode", "date", "command") if k in meta]
    return [(k, meta[k]) for k in first + [k for k in meta if k not in first]]


_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1200px;color:#1f2328}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #d0d7de;padding:.3rem .6rem;
vertical-align:top;text-align:left}th{background:#f6f8fa}td.num{text-align:right}
tr.group td{background:#f6f8fa;font-weight:600}img{max-width:100%}
figure{display:inline-block;margin:.5rem}.quotes{font-size:.9em;color:#57606a;margin:.3rem 0 0}
.ok{color:#1a7f37}.bad{color:#cf222e}.q{max-width:20rem}
"""


def _html(
    rows: Sequence[Mapping[str, Any]], summaries: Mapping[str, Summary], meta: Mapping[str, Any]
) -> str:
    """report.html: meta, metric table, charts and the per-question table, all inline."""
    e = html.escape
    parts = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        f"<title>citeqa evaluation: {e(str(meta.get('dataset', '')))}</title>",
        f"<style>{_CSS}</style></head><body><h1>citeqa evaluation</h1><table>",
    ]
    parts += [f"<tr><th>{e(k)}</th><td>{e(str(v))}</td></tr>" for k, v in _meta_items(meta)]
    parts.append("</table><h2>Metrics</h2>")
    parts += _html_metrics(summaries)
    parts.append("<h2>Charts</h2>")
    for title, png in _figures(rows, summaries):
        parts.append(
            f'<figure><img alt="{e(title)}" src="data:image/png;base64,{_b64(png)}">'
            f"<figcaption>{e(title)}</figcaption></figure>"
        )
    parts.append("<h2>Questions</h2>")
    parts += _html_questions(rows, list(summaries))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _html_metrics(summaries: Mapping[str, Summary]) -> list[str]:
    """The side-by-side metric table."""
    e = html.escape
    header = "".join(f"<th>{e(s)}</th>" for s in summaries)
    parts = [f"<table><tr><th>metric</th>{header}</tr>"]
    group = None
    for g, name, cells in _merged(summaries):
        if g != group:
            group = g
            parts.append(f'<tr class="group"><td colspan="{len(summaries) + 1}">{e(g)}</td></tr>')
        values = "".join(f'<td class="num">{e(c)}</td>' for c in cells)
        parts.append(f"<tr><td>{e(name)}</td>{values}</tr>")
    return [*parts, "</table>"]


def _html_questions(rows: Sequence[Mapping[str, Any]], systems: list[str]) -> list[str]:
    """One table row per question: the question and each system's answer, quotes and verdict."""
    e = html.escape
    header = "".join(f"<th>{e(s)}</th>" for s in systems)
    parts = [f"<table><tr><th>question</th>{header}</tr>"]
    by_question: dict[str, dict[str, Mapping[str, Any]]] = {}
    for row in rows:
        by_question.setdefault(str(row["id"]), {})[str(row["system"])] = row
    for qid, answers in by_question.items():
        first = next(iter(answers.values()))
        kind = "answerable" if first["answerable"] else "unanswerable"
        question = f"{e(str(first['question']))}<br><small>{e(qid)} · {kind}</small>"
        cells = "".join(_answer_cell(answers.get(s)) for s in systems)
        parts.append(f'<tr><td class="q">{question}</td>{cells}</tr>')
    return [*parts, "</table>"]


def _b64(data: bytes) -> str:
    """Base64 text for a data: URL."""
    return base64.b64encode(data).decode("ascii")


def _answer_cell(row: Mapping[str, Any] | None) -> str:
    """One system's answer, its citations' quotes and the verdict, escaped."""
    if row is None:
        return "<td></td>"
    e = html.escape
    scores = score_row(row)
    good = scores["outcome"] in ("answered", "abstained")
    quotes = "".join(
        f"<li>[{e(str(c['marker']))}] {e(c['quote'])}{' ✓' if c.get('verified') else ''}</li>"
        for c in row.get("citations", [])
    )
    verdict = f'<span class="{"ok" if good else "bad"}">{e(_verdict(scores))}</span>'
    cited = f'<ol class="quotes">{quotes}</ol>' if quotes else ""
    return f"<td>{e(str(row['answer']))}{cited}<br>{verdict}</td>"


def _verdict(scores: Mapping[str, Any]) -> str:
    """A one-line verdict: the outcome and the answer and citation scores that apply."""
    parts = [str(scores["outcome"])]
    flags = {"contains_expected": "expected", "exact_sentence": "exact sentence"}
    parts += [
        f"{label} {'✓' if scores[k] else '✗'}"
        for k, label in flags.items()
        if scores[k] is not None
    ]
    numbers = {"token_f1": "F1", "citation_precision": "citation precision"}
    parts += [f"{label} {scores[k]:.2f}" for k, label in numbers.items() if scores[k] is not None]
    return "; ".join(parts)


# --- figures ---


def _figures(
    rows: Sequence[Mapping[str, Any]], summaries: Mapping[str, Summary]
) -> list[tuple[str, bytes]]:
    """(title, PNG) of one bar chart per metric group and the latency distribution."""
    from matplotlib.figure import Figure

    figures = []
    for group, names in METRIC_GROUPS.items():
        fig = Figure(figsize=(5.5, 3.2))
        _grouped_bars(
            fig, list(names), {s: [v.get(n) for n in names] for s, v in summaries.items()}
        )
        figures.append((group, _png(fig)))
    fig = Figure(figsize=(7, 3.5))
    _latency_boxes(fig, rows, list(summaries))
    figures.append(("latency per stage (s)", _png(fig)))
    return figures


def _grouped_bars(fig: Figure, labels: list[str], values: Mapping[str, list[float | None]]) -> None:
    """Bars per label, one colour per system; a missing value is an empty slot marked n/a."""
    ax = fig.add_subplot()
    width = 0.8 / max(len(values), 1)
    for i, (system, series) in enumerate(values.items()):
        xs = [x + (i - (len(values) - 1) / 2) * width for x in range(len(labels))]
        heights = [v if v is not None else 0.0 for v in series]
        bars = ax.bar(xs, heights, width, label=system, color=COLORS[i % len(COLORS)])
        ax.bar_label(bars, [_fmt(v) if v is not None else "n/a" for v in series], fontsize=7)
    ax.set_xticks(range(len(labels)), labels, fontsize=8)
    ax.set_ylim(0, 1.15)
    ax.legend(fontsize=8)
    fig.tight_layout()


def _latency_boxes(fig: Figure, rows: Sequence[Mapping[str, Any]], systems: list[str]) -> None:
    """Box plots of seconds per stage, one box per system side by side."""
    ax = fig.add_subplot()
    stages = list(dict.fromkeys(s for row in rows for s in row.get("timings", {})))
    step = len(systems) + 1
    for i, system in enumerate(systems):
        for j, stage in enumerate(stages):
            mine = (r.get("timings", {}) for r in rows if r["system"] == system)
            times = [timings[stage] for timings in mine if stage in timings]
            if times:
                box = ax.boxplot([times], positions=[j * step + i], widths=0.7, patch_artist=True)
                box["boxes"][0].set_facecolor(COLORS[i % len(COLORS)])
        ax.plot([], [], color=COLORS[i % len(COLORS)], label=system, linewidth=6)
    ax.set_xticks(
        [j * step + (len(systems) - 1) / 2 for j in range(len(stages))], stages, fontsize=8
    )
    ax.set_ylabel("seconds")
    ax.legend(fontsize=8)
    fig.tight_layout()


def _png(fig: Figure) -> bytes:
    """Render a figure to PNG with the Agg backend, without version metadata."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    buffer = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buffer, metadata={"Software": None})
    return buffer.getvalue()


# --- comparison ---


def compare(run_a: Path | str, run_b: Path | str, out_dir: Path | str | None = None) -> str:
    """Metric differences between two runs (b minus a) per system both ran, as a text table.

    With out_dir, also writes compare.md and compare.png (the deltas of the rate metrics).
    """
    a, b = (json.loads((Path(p) / SUMMARY).read_text(encoding="utf-8")) for p in (run_a, run_b))
    table: list[tuple[str, str, float | None, float | None, float | None]] = []
    for system in [s for s in a["systems"] if s in b["systems"]]:
        b_values = {name: value for _, name, value, _ in metric_rows(b["systems"][system])}
        for _, name, va, _ in metric_rows(a["systems"][system]):
            vb = b_values.get(name)
            delta = vb - va if va is not None and vb is not None else None
            table.append((system, name, va, vb, delta))
    header = ("system", "metric", Path(run_a).name or "a", Path(run_b).name or "b", "delta")
    cells = [header] + [(s, m, _fmt(va), _fmt(vb), _delta(d)) for s, m, va, vb, d in table]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    text = "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells
    )
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        md = ["| " + " | ".join(header) + " |", "|---|---|---:|---:|---:|"]
        md += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in cells[1:]]
        (out / "compare.md").write_text("\n".join(md) + "\n", encoding="utf-8")
        rates = {n for names in METRIC_GROUPS.values() for n in names}
        deltas: dict[str, dict[str, float | None]] = {}
        for system, name, _, _, d in table:
            if name in rates:
                deltas.setdefault(system, {})[name] = d
        (out / "compare.png").write_bytes(_delta_chart(deltas))
    return text + "\n"


def _delta(value: float | None) -> str:
    """A signed difference for a table cell."""
    return "n/a" if value is None else f"{value:+.3f}"


def _delta_chart(deltas: Mapping[str, Mapping[str, float | None]]) -> bytes:
    """Horizontal bars of the rate metrics' deltas per system, as PNG."""
    from matplotlib.figure import Figure

    names = [n for names in METRIC_GROUPS.values() for n in names]
    fig = Figure(figsize=(6, 0.18 * len(names) * max(len(deltas), 1) + 1))
    ax = fig.add_subplot()
    height = 0.8 / max(len(deltas), 1)
    for i, (system, by_name) in enumerate(deltas.items()):
        ys = [y + i * height for y in range(len(names))]
        values = [by_name.get(n) or 0.0 for n in names]
        ax.barh(ys, values, height, label=system, color=COLORS[i % len(COLORS)])
    ax.set_yticks([y + (len(deltas) - 1) * height / 2 for y in range(len(names))], names)
    ax.axvline(0, color="#57606a", linewidth=0.8)
    ax.invert_yaxis()
    ax.set_xlabel("b - a")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _png(fig)
