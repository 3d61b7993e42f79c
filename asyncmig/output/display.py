"""What a person at a terminal sees: the rich progress bar, log lines above it, the summary table.

Only the command line imports this module, and only when the stream is a terminal; the
library and the parser processes never load rich.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.measure import Measurement
from rich.progress import (
    BarColumn,
    ProgressColumn,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.progress import Progress as RichProgress
from rich.table import Table
from rich.text import Text

from asyncmig.errors import one_line
from asyncmig.output.progress import Tracker
from asyncmig.output.report import columns, detail_lines, table_rows, title_lines

if TYPE_CHECKING:
    from collections.abc import Iterable

    from rich.console import RenderableType
    from rich.progress import Task, TaskID

    from asyncmig.output.progress import Unit
    from asyncmig.output.report import Report

#: The bar redraws on its own thread; four times a second is smooth and costs nothing.
_REFRESH_PER_SECOND = 4


def stderr_console() -> Console:
    return Console(stderr=True)


def stdout_console() -> Console:
    return Console()


class BarProgress(Tracker):
    """A rich bar on the terminal: bytes of the plan behind the writer, MB/s, records/s,
    ETA, and below it the file in flight and the records done per table; a bar of its own
    for each phase around the load (the backup, the finishing steps, verify)."""

    def __init__(self, console: Console) -> None:
        super().__init__()
        self.bar = _Bar(
            self,
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            _BytesPerSecond(),
            _RecordsPerSecond(self),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            refresh_per_second=_REFRESH_PER_SECOND,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self.task: TaskID | None = None
        self._phase: TaskID | None = None

    @property
    def shown(self) -> bool:
        return self.task is not None or self._phase is not None

    def phase(self, name: str, total: int, unit: Unit) -> None:
        super().phase(name, total, unit)
        self._phase = self.bar.add_task(name, total=total, unit=unit)
        self.bar.start()

    def step(self, done: int) -> None:
        super().step(done)
        if self._phase is not None:
            self.bar.update(self._phase, completed=self.phase_done)

    def start(self, total_bytes: int, files: int) -> None:
        super().start(total_bytes, files)
        self.task = self.bar.add_task("migrating", total=total_bytes, unit="load")
        self.bar.start()

    def advance(self, table: str, records: int, position: int) -> None:
        super().advance(table, records, position)
        self._show_load()

    def file_done(self) -> None:
        super().file_done()
        self._show_load()

    def finish(self) -> None:
        self._show_load()
        self.bar.stop()

    def _show_load(self) -> None:
        if self.task is not None:
            self.bar.update(self.task, completed=self.consumed)


class _Bar(RichProgress):
    def __init__(self, tracker: Tracker, *columns: ProgressColumn, **options: Any) -> None:
        self.tracker = tracker  # before rich's __init__, which renders once
        super().__init__(*columns, **options)

    def get_renderables(self) -> Iterable[RenderableType]:
        yield self.make_tasks_table(self.tasks)
        tracker = self.tracker
        # Read from rich's refresh thread: copy before iterating, the writer may add a table.
        tables = list(tracker.tables.items())
        if tables:
            yield Text("  " + "  ".join(f"{t} {n:,}" for t, n in tables), style="dim")
        if tracker.path:
            done = min(tracker.files_done + 1, tracker.files)
            yield Text(f"  file {done:,}/{tracker.files:,}: {one_line(tracker.path)}", style="dim")


class _RecordsPerSecond(ProgressColumn):
    def __init__(self, tracker: Tracker) -> None:
        super().__init__()
        self.tracker = tracker

    def render(self, task: Task) -> Text:
        if task.fields.get("unit") != "load":
            return Text("")
        elapsed = max(self.tracker.elapsed, 1e-9)
        return Text(f"{self.tracker.records / elapsed:,.0f} records/s", style="progress.data.speed")


class _BytesPerSecond(TransferSpeedColumn):
    """MB/s for what is counted in bytes; nothing for a phase counted in steps or records."""

    def render(self, task: Task) -> Text:
        counted = task.fields.get("unit") in ("steps", "records")
        return Text("") if counted else super().render(task)


def _print_whole(console: Console, table: Table) -> None:
    """``table`` with every character: on a terminal narrower than it (80 columns), rich
    cut names and counts down to "…" (two rows read "mcp_ser…"); it is rendered at its own
    width instead, and the terminal wraps its lines."""
    width = Measurement.get(console, console.options.update_width(10_000), table).maximum
    if width <= console.width:
        console.print(table)
        return
    for line in console.render_lines(table, console.options.update_width(width), pad=False):
        text = Text.assemble(*((segment.text, segment.style or "") for segment in line))
        text.rstrip()
        console.print(text, soft_wrap=True, highlight=False)


class ConsoleHandler(logging.Handler):
    """Log records printed through the console, so they appear above a live bar."""

    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = Text(self.format(record))
            self.console.print(text, soft_wrap=True, highlight=False)
        except Exception:  # logging must never break the run: report it the standard way
            self.handleError(record)


def print_summary(report: Report, console: Console) -> None:
    """The summary with its counts as a table; the same words as the plain one otherwise."""
    for line in title_lines(report):
        console.print(Text(one_line(line)), soft_wrap=True)
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("table")
    for column in columns(report):
        table.add_column(column, justify="right")
    rows = table_rows(report)
    for number, (name, values) in enumerate(rows):
        last = number == len(rows) - 1
        table.add_row(
            name,
            *(f"{v:,}" for v in values),
            style="bold" if last else None,
            end_section=number == len(rows) - 2,
        )
    _print_whole(console, table)
    console.print()
    for line in detail_lines(report):
        console.print(Text(one_line(line)), soft_wrap=True, highlight=False)
