"""Report charts as PNG bytes: metric bars, latency boxes, the support signal, run deltas.

Figures are built on ``matplotlib.figure.Figure`` with the Agg canvas, never pyplot, so no
GUI backend or global state is touched and matplotlib is imported only when a chart is drawn.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from qa.evaluation.metrics import ANSWERABLE, METRIC_GROUPS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

COLORS = ("#2563eb", "#d97706", "#059669", "#7c3aed")

Summary = Mapping[str, Any]


def fmt(value: float | None) -> str:
    """A metric value for a table cell or a bar label."""
    if value is None:
        return "n/a"
    return str(value) if isinstance(value, int) else f"{value:.3f}"


def report_figures(
    rows: Sequence[Mapping[str, Any]], summaries: Mapping[str, Summary]
) -> list[tuple[str, bytes]]:
    """(title, PNG) of one bar chart per metric group and the latency distribution."""
    from matplotlib.figure import Figure

    figures = []
    for group, names in METRIC_GROUPS.items():
        if all(v.get(n) is None for v in summaries.values() for n in names):
            continue  # nothing measured (an undated set has no time metric): no empty chart
        fig = Figure(figsize=(5.5, 3.2))
        labels = [n.removesuffix(ANSWERABLE) for n in names]  # the caption names the group
        _grouped_bars(fig, labels, {s: [v.get(n) for n in names] for s, v in summaries.items()})
        figures.append((group, png(fig)))
    fig = Figure(figsize=(7, 3.5))
    _latency_boxes(fig, rows, list(summaries))
    figures.append(("latency per stage (s)", png(fig)))
    return figures


def support_histogram(
    answerable: Sequence[float], unanswerable: Sequence[float], thresholds: Mapping[str, float]
) -> bytes:
    """Overlaid histograms of the support score per class, with the thresholds as lines."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 3.5))
    ax = fig.add_subplot()
    bins = [i / 40 for i in range(41)]
    for i, (label, values) in enumerate(
        (("answerable", answerable), ("unanswerable", unanswerable))
    ):
        ax.hist(values, bins=bins, alpha=0.55, label=label, color=COLORS[i])
    for j, (name, value) in enumerate(thresholds.items()):
        ax.axvline(value, color=COLORS[2 + j % 2], linestyle="--", label=f"{name} {value:.3f}")
    ax.set_xlabel("top evidence score (support)")
    ax.set_ylabel("questions")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return png(fig)


def delta_chart(deltas: Mapping[str, Mapping[str, float | None]]) -> bytes:
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
    return png(fig)


def _grouped_bars(fig: Figure, labels: list[str], values: Mapping[str, list[float | None]]) -> None:
    """Bars per label, one colour per system; a missing value is an empty slot marked n/a."""
    ax = fig.add_subplot()
    width = 0.8 / max(len(values), 1)
    for i, (system, series) in enumerate(values.items()):
        xs = [x + (i - (len(values) - 1) / 2) * width for x in range(len(labels))]
        heights = [v if v is not None else 0.0 for v in series]
        bars = ax.bar(xs, heights, width, label=system, color=COLORS[i % len(COLORS)])
        ax.bar_label(bars, [fmt(v) for v in series], fontsize=7)
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


def png(fig: Figure) -> bytes:
    """Render a figure to PNG with the Agg backend, without version metadata."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    buffer = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buffer, metadata={"Software": None})
    return buffer.getvalue()
