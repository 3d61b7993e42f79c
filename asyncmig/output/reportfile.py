"""The run's report as versioned JSON, written atomically (a temporary file, then a rename).

The document is the :class:`~asyncmig.output.report.Report` Struct encoded as it is, so a field
added to the Report appears in the file without a change here, plus what the Report only
computes (totals, throughput) and the exit status. Readers check ``schema_version``: it
changes when a field changes meaning or goes away, not when one is added.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import TYPE_CHECKING, Any, Final

import msgspec

from asyncmig.storage import path_text, write_atomically

if TYPE_CHECKING:
    from pathlib import Path

    from asyncmig.output.report import Report

SCHEMA_VERSION: Final = 1


def document(report: Report, exit_status: int) -> dict[str, Any]:
    """The JSON document for ``report``: its fields, its totals, throughput, exit status."""
    fields = msgspec.to_builtins(report, enc_hook=_encode)
    return {
        "schema_version": SCHEMA_VERSION,
        **fields,
        "totals": msgspec.to_builtins(report.totals),
        "records_per_second": report.records_per_second,
        "megabytes_per_second": report.megabytes_per_second,
        "exit_status": exit_status,
    }


def write_report(report: Report, path: Path, exit_status: int) -> None:
    """Write the document to ``path`` whole or not at all: a reader never sees half of it,
    and an existing file is replaced in one step."""
    data = msgspec.json.format(msgspec.json.encode(document(report, exit_status)), indent=2)
    write_atomically(path, data + b"\n", durable=True)


def _encode(value: Any) -> Any:
    if isinstance(value, PurePath):
        return path_text(value)  # a name that is not UTF-8 escaped, as everywhere
    raise NotImplementedError(f"cannot encode {type(value).__name__} in the report")
