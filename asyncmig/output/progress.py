"""Progress seen from the pipeline: a protocol, a silent default, and a line every few seconds.

The pipeline reports the writer's way through the plan: a file reached, each batch of it
applied (with how far into the file its last record sits), the file done. Calls come once
per batch, never per record, and cost a few additions. A sink that also has the methods
of :class:`Phases` hears the phases around the load too: the backup, the finishing steps,
and verify's reading. :class:`NullProgress` is what the
library uses unless given a sink; the command line passes :class:`LineProgress` when
stderr is not a terminal, and the bar of :mod:`asyncmig.output.display` when it is.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Final, Literal, Protocol, runtime_checkable

from asyncmig.errors import one_line

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TextIO

DEFAULT_INTERVAL: Final = 5.0

Unit = Literal["bytes", "steps", "records"]


class Progress(Protocol):
    """Where the pipeline reports how far it is."""

    def start(self, total_bytes: int, files: int) -> None:
        """The run begins: this many bytes of JSON in this many files to get through."""

    def file(self, path: str, size: int) -> None:
        """The writer reached ``path`` (relative to the data root)."""

    def advance(self, table: str, records: int, position: int) -> None:
        """``records`` more of ``table`` are done; the last sits ``position`` bytes into the
        current file (0 when the reader does not know)."""

    def file_done(self) -> None:
        """The current file is done."""

    def finish(self) -> None:
        """The run is over (whatever its outcome)."""


@runtime_checkable
class Phases(Protocol):
    """What a progress sink may also hear: the phases around the load."""

    def phase(self, name: str, total: int, unit: Unit) -> None:
        """A phase begins: ``"backup"`` (bytes copied and checked), ``"re-keying"`` (records
        moved to their new ids), ``"finishing"`` (steps: indexes, statistics, the WAL) or
        ``"verify"`` (bytes of JSON checked)."""

    def step(self, done: int) -> None:
        """``done`` more units of the current phase are behind."""


def phases_of(sink: object) -> Phases:
    """``sink`` when it hears phases, else a sink that hears nothing (a library caller's
    sink written for the load alone keeps working)."""
    return sink if isinstance(sink, Phases) else NullProgress()


class NullProgress:
    """Reports nothing: the library's default."""

    def phase(self, name: str, total: int, unit: Unit) -> None:
        pass

    def step(self, done: int) -> None:
        pass

    def start(self, total_bytes: int, files: int) -> None:
        pass

    def file(self, path: str, size: int) -> None:
        pass

    def advance(self, table: str, records: int, position: int) -> None:
        pass

    def file_done(self) -> None:
        pass

    def finish(self) -> None:
        pass


class Tracker:
    """How far the writer is, in bytes of the plan and records per table."""

    def __init__(self) -> None:
        self.total_bytes = 0
        self.files = 0
        self.files_done = 0
        self.done_bytes = 0
        self.path = ""
        self.size = 0
        self.position = 0
        self.records = 0
        self.tables: dict[str, int] = {}
        self.started = time.monotonic()
        #: The phase around the load under way (see :class:`Phases`), and how far it is.
        self.phase_name = ""
        self.phase_total = 0
        self.phase_done = 0
        self.phase_unit: Unit = "bytes"
        self.phase_started = self.started

    def phase(self, name: str, total: int, unit: Unit) -> None:
        self.phase_name, self.phase_total, self.phase_unit = name, total, unit
        self.phase_done = 0
        self.phase_started = time.monotonic()

    def step(self, done: int) -> None:
        self.phase_done += done

    def phase_line(self) -> str:
        """The phase in one short line: how far, and how fast for bytes."""
        done, total = self.phase_done, self.phase_total
        if self.phase_unit != "bytes":
            return f"{self.phase_name} {done:,} of {total:,} {self.phase_unit}"
        elapsed = max(time.monotonic() - self.phase_started, 1e-9)
        percent = 100 * done / total if total else 100.0
        return (
            f"{self.phase_name} {percent:3.0f}% of {total / 1e6:,.1f} MB "
            f"({done / 1e6 / elapsed:,.1f} MB/s)"
        )

    @property
    def shown(self) -> bool:
        """Whether the person watching has seen any progress (then a last line closes it)."""
        return False

    def start(self, total_bytes: int, files: int) -> None:
        self.total_bytes, self.files = total_bytes, files
        self.started = time.monotonic()

    def file(self, path: str, size: int) -> None:
        self.path, self.size, self.position = path, size, 0

    def advance(self, table: str, records: int, position: int) -> None:
        self.records += records
        self.tables[table] = self.tables.get(table, 0) + records
        self.position = max(self.position, position)

    def file_done(self) -> None:
        self.done_bytes += self.size
        self.files_done += 1
        self.path, self.size, self.position = "", 0, 0

    def finish(self) -> None:
        pass

    @property
    def consumed(self) -> int:
        """Bytes of the plan behind the writer: files done, and the way into this one."""
        return self.done_bytes + min(self.position, self.size)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def eta(self) -> float | None:
        """Seconds left at the rate so far, or None before there is a rate."""
        consumed, elapsed = self.consumed, self.elapsed
        if consumed <= 0 or elapsed <= 0:
            return None
        return max(0.0, (self.total_bytes - consumed) * elapsed / consumed)

    def line(self) -> str:
        """One short line: percent, bytes, records, rates, ETA, the tables, the file."""
        elapsed = max(self.elapsed, 1e-9)
        percent = 100 * self.consumed / self.total_bytes if self.total_bytes else 100.0
        eta = self.eta()
        text = (
            f"{percent:3.0f}% of {self.total_bytes / 1e6:,.1f} MB, "
            f"file {min(self.files_done + 1, self.files):,}/{self.files:,}, "
            f"{self.records:,} records ({self.records / elapsed:,.0f} records/s, "
            f"{self.consumed / 1e6 / elapsed:,.1f} MB/s), "
            f"ETA {'?' if eta is None else format_seconds(eta)}"
        )
        if self.tables:
            text += "; " + ", ".join(f"{t} {n:,}" for t, n in self.tables.items())
        if self.path:
            text += f"; now {one_line(self.path)}"
        return text


def format_seconds(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


class LineProgress(Tracker):
    """A line on ``stream`` every ``interval`` seconds while the run lasts: no bar, no
    carriage returns, so the log of a CI job stays readable (and a short run prints none;
    the summary follows on stdout)."""

    def __init__(self, stream: TextIO, interval: float = DEFAULT_INTERVAL) -> None:
        super().__init__()
        self.stream = stream
        self.interval = interval
        self._last = time.monotonic()
        self._printed = 0

    @property
    def shown(self) -> bool:
        return self._printed > 0

    def phase(self, name: str, total: int, unit: Unit) -> None:
        super().phase(name, total, unit)
        self._maybe_print(self.phase_line)

    def step(self, done: int) -> None:
        super().step(done)
        self._maybe_print(self.phase_line)

    def advance(self, table: str, records: int, position: int) -> None:
        super().advance(table, records, position)
        self._maybe_print()

    def file_done(self) -> None:
        super().file_done()
        self._maybe_print()

    def _maybe_print(self, line: Callable[[], str] | None = None) -> None:
        """A line if the interval went by: the load's ``progress`` line, or a phase's."""
        if time.monotonic() - self._last >= self.interval:
            self._last = time.monotonic()
            self._printed += 1
            text = f"progress {self.line()}" if line is None else line()
            print(f"asyncmig: {text}", file=self.stream, flush=True)
