"""Progress of a run on stderr: a live bar on a terminal, a plain line every N questions when
stderr is a file or a pipe (``nohup``, ``> run.log``), so a long run is never silent."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

#: Questions between two log lines when stderr is not a terminal.
EVERY = 20

Advance = Callable[[str], None]


def format_eta(seconds: float) -> str:
    """A duration as 1h02m, 4m05s or 12s."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class LineProgress:
    """Writes ``eval 40/600 (6.7%) 1.32 q/s, ETA 7m04s`` every ``every`` questions and at
    the end."""

    def __init__(
        self,
        total: int,
        stream: TextIO,
        every: int = EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if every < 1:
            raise ValueError(f"progress interval must be >= 1, got {every}")
        self.total, self.stream, self.every, self.clock = total, stream, every, clock
        self.done = 0
        self.started = clock()

    def advance(self, label: str = "") -> None:
        """Count one question done; log when it completes a block of ``every`` or the run."""
        self.done += 1
        if self.done % self.every and self.done != self.total:
            return
        elapsed = max(self.clock() - self.started, 1e-9)
        rate = self.done / elapsed
        eta = format_eta((self.total - self.done) / rate)
        share = 100 * self.done / self.total if self.total else 100.0
        last = f", last {label}" if label else ""
        self.stream.write(
            f"eval {self.done}/{self.total} ({share:.1f}%) {rate:.2f} q/s, ETA {eta}{last}\n"
        )
        self.stream.flush()


@contextmanager
def progress(total: int, every: int = EVERY, stream: TextIO | None = None) -> Iterator[Advance]:
    """Yields ``advance(label)``, to be called once per question done."""
    out = stream or sys.stderr
    if not out.isatty():
        yield LineProgress(total, out, every).advance
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("[bold]eval"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.description}"),
        console=Console(file=out),
    ) as bar:
        task = bar.add_task("", total=total)

        def advance(label: str = "") -> None:
            bar.update(task, advance=1, description=label)

        yield advance
