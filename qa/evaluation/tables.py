"""The tables every report shares: metric rows with counts and intervals, paired differences,
the abstention-signal tables, and the run's meta, formatted once for markdown, HTML and the CLI."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from qa.evaluation.metrics import METRIC_GROUPS, OUTCOMES
from qa.evaluation.plots import Summary, fmt

#: The column of paired differences, first system minus second.
DIFF = "citeqa − baseline"
Pairs = Mapping[str, Mapping[str, Any]]

MetricRow = tuple[str, str, float | None, int | None, list[float] | None]


def metric_rows(summary: Summary) -> list[MetricRow]:
    """(group, metric, value, n, 95% interval) for every scalar of a summary, in report order."""
    n, ci = summary.get("n", {}), summary.get("ci", {})
    table: list[MetricRow] = [
        (group, name, summary.get(name), n.get(name), ci.get(name))
        for group, names in METRIC_GROUPS.items()
        for name in names
    ]
    outcomes = summary.get("outcomes", {})
    table += [("outcomes", name, outcomes.get(name), None, None) for name in OUTCOMES]
    for stage, stats in summary.get("latency", {}).items():
        table += [("latency", f"{stage} {p} (s)", stats[p], None, None) for p in ("p50", "p95")]
    for field in ("llm_calls", "tokens"):
        table += [
            ("cost", f"{field} {agg}", summary.get(f"{field}_{agg}"), None, None)
            for agg in ("total", "mean")
        ]
    return table


def metric_cell(value: float | None, n: int | None, ci: Sequence[float] | None) -> str:
    """``0.712 [0.674, 0.748] (n=600)``: the value, its 95% interval and its count."""
    shown = fmt(value)
    if ci is not None and value is not None:
        shown += f" [{ci[0]:.3f}, {ci[1]:.3f}]"
    return shown + (f" (n={n})" if n is not None else "")


def diff_cell(pair: Mapping[str, Any] | None) -> str:
    """``+0.050 [-0.020, +0.120] p=0.21``: a paired difference, its 95% interval, McNemar's
    p for yes/no verdicts, and ``*`` when significant at 5%; ``n/a`` when no pair."""
    if not pair or not pair.get("n"):
        return "n/a"
    lo, hi = pair["ci"]
    shown = f"{pair['diff']:+.3f} [{lo:+.3f}, {hi:+.3f}]"
    if pair.get("p") is not None:
        shown += f" p={pair['p']:.2g}"
    return shown + (" *" if pair.get("significant") else "") + f" (n={pair['n']})"


def merged_cells(
    summaries: Mapping[str, Summary], pairs: Pairs | None = None
) -> list[tuple[str, str, list[str]]]:
    """(group, metric, one formatted cell per system, then the paired difference when
    ``pairs`` is given) over the union of the systems' metrics."""
    cells: dict[tuple[str, str], dict[str, str]] = {}
    for system, summary in summaries.items():
        for group, name, value, n, ci in metric_rows(summary):
            cells.setdefault((group, name), {})[system] = metric_cell(value, n, ci)
    table = []
    for (group, name), by in cells.items():
        row = [by.get(s, "") for s in summaries]
        if pairs is not None:
            row.append(diff_cell(pairs.get(name)) if name in pairs else "")
        table.append((group, name, row))
    return table


def column_names(summaries: Mapping[str, Summary], pairs: Pairs | None) -> list[str]:
    """The value columns of the metric table: one per system, then the difference."""
    return [*summaries, *([DIFF] if pairs is not None else [])]


METRICS_NOTE = (
    "Each value: the mean over n questions and its 95% interval (Wilson for yes/no verdicts, "
    "bootstrap otherwise). The difference column: citeqa minus the baseline over the "
    "questions both were scored on, its paired bootstrap 95% interval, McNemar's exact p for "
    "yes/no verdicts, and * when it is significant at 5%; without *, the gap may be noise."
)


def signal_note(signal: Mapping[str, Any]) -> str:
    """A few sentences on what the abstention-signal tables show."""
    return (
        f"citeqa's gate probability (`support`) on {signal['n_answerable']} answerable and "
        f"{signal['n_unanswerable']} unanswerable questions. citeqa abstains when it is below "
        "the threshold, and also when a hard rule of the gate refuses (a name the documents "
        "never mention, a kind of answer the evidence lacks) or a model declines, so the "
        "rates below are the probability's alone; the metric table has the real ones. "
        f"AUC {fmt(signal['auc'])} (0.5: no separation, 1: a threshold separates perfectly)."
    )


def signal_tables(signal: Mapping[str, Any]) -> list[tuple[list[str], list[list[str]]]]:
    """(header, rows) of the support deciles per class and of the candidate thresholds."""
    deciles = signal["deciles"]
    decile_rows = [
        [f"p{p}", fmt(a), fmt(u)]
        for p, a, u in zip(
            deciles["percentile"], deciles["answerable"], deciles["unanswerable"], strict=True
        )
    ]
    labels = {
        "current": "current (settings.min_support)",
        "goal_threshold": "most abstained with <= 10% wrongly abstained",
        "balanced_threshold": "best abstained minus wrongly abstained",
    }
    threshold_rows = [
        [
            label,
            f"{signal[key]['threshold']:.3f}",
            fmt(signal[key]["abstention_unanswerable"]),
            fmt(signal[key]["wrong_abstention_answerable"]),
        ]
        for key, label in labels.items()
    ]
    return [
        (["support percentile", "answerable", "unanswerable"], decile_rows),
        (["threshold", "value", "abstained (unanswerable)", "wrongly abstained (answerable)"],
         threshold_rows),
    ]  # fmt: skip


def md_cell(value: Any) -> str:
    """A value made safe for a markdown table cell."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def meta_items(meta: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Meta entries as text, with dataset, mode, date and command first; a mapping (the
    settings) reads ``key=value, ...``."""
    first = [k for k in ("dataset", "mode", "date", "command") if k in meta]
    items = [(k, meta[k]) for k in first + [k for k in meta if k not in first]]
    return [
        (k, ", ".join(f"{n}={x}" for n, x in v.items()) if isinstance(v, Mapping) else str(v))
        for k, v in items
    ]
